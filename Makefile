# PCG — every target installs what it needs (idempotent; apt-get as root).
SHELL := /bin/bash
NODE_STAMP := node_modules/.install-stamp
DEB_STAMP := .tmp/deb-stamp
DEB_PACKAGES := postgresql golang-go golang-github-vmware-govmomi-dev cloud-init skopeo docker-registry \
  chromium mmdebstrap qemu-utils qemu-system-x86 syslinux syslinux-common mtools dosfstools xorriso netcat-openbsd
VCSIM := .tmp/bin/vcsim-pcg

.PHONY: deps build test demo bench lint clean ova

deps: $(NODE_STAMP) $(DEB_STAMP) $(VCSIM)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(DEB_STAMP): Makefile
	@mkdir -p .tmp
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing Debian packages:$$missing (run make deps as root)"; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@touch $@

# vcsim from Debian's govmomi source, built offline (no module download).
$(VCSIM): test/fixtures/vcsim/main.go $(DEB_STAMP)
	@mkdir -p $(dir $@)
	cd test/fixtures/vcsim && GOPATH=/usr/share/gocode GO111MODULE=off GOCACHE=$(CURDIR)/.tmp/go-cache go build -o $(CURDIR)/$@ main.go

# Element-order checker for SOAP request bodies, against govmomi's vim25 types; built like vcsim.
VIM_ORDER := .tmp/bin/vim-order
deps: $(VIM_ORDER)
$(VIM_ORDER): $(wildcard test/fixtures/vim-order/*.go) $(DEB_STAMP)
	@mkdir -p $(dir $@)
	cd test/fixtures/vim-order && GOPATH=/usr/share/gocode GO111MODULE=off GOCACHE=$(CURDIR)/.tmp/go-cache go build -o $(CURDIR)/$@ .

# dist/ is rebuilt whole: a test whose source was removed must not keep running from a stale .js.
build: $(NODE_STAMP)
	rm -rf dist
	npx tsc -p tsconfig.json
	cp -r installer-ova/wizard/static dist/installer-ova/wizard/static

lint: build
	npx eslint .

test: deps build lint ova
	node test/support/run-tests.mjs

demo: deps build
	node dist/test/demo/demo.js

bench: deps build
	@for f in dist/test/bench/*.bench.js; do echo "== $$f"; node --expose-gc $$f || exit 1; done

# The installer appliance: .tmp/ova/pcg-installer.ova (see installer-ova/README.md).
ova: deps build
	node dist/installer-ova/image/build-appliance.js --out .tmp/ova

clean:
	rm -rf dist .tmp
