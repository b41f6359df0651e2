import { stringify } from 'yaml';
import type { ClusterSpec, PackRef } from '../../proto/schemas/jobs.js';
import type { ClusterSecrets } from './cluster-secrets.js';
import type { NodeIdentity } from './node-identity.js';

export interface UserdataInput {
  readonly cluster: Pick<ClusterSpec, 'name' | 'packs'>;
  readonly identity: NodeIdentity;
  /** The first control-plane node runs `kubeadm init`; every other node joins it. */
  readonly init: boolean;
  /** cp-0's address (`host` or `host:port` is not allowed: the API server port is 6443); undefined only for a DHCP init node. */
  readonly joinAddress: string | undefined;
  readonly endpoint: { readonly url: string; readonly caPem: string };
  readonly nodeToken: string;
  readonly secrets: ClusterSecrets;
}

const KUBEADM_API = 'kubeadm.k8s.io/v1beta3';
const API_PORT = 6443;

/** URL of a pack archive on the gateway's embedded registry (the registry issue serves it). */
export function packArchiveUrl(endpointUrl: string, pack: Pick<PackRef, 'name' | 'version'>): string {
  return `${endpointUrl.replace(/\/+$/, '')}/v1/packs/${encodeURIComponent(pack.name)}/${encodeURIComponent(pack.version)}/archive`;
}

export function phoneHomeUrl(endpointUrl: string, nodeToken: string): string {
  return `${endpointUrl.replace(/\/+$/, '')}/v1/nodes/ready?token=${encodeURIComponent(nodeToken)}`;
}

function kubernetesVersion(packs: readonly PackRef[]): string | undefined {
  const k8s = packs.find((p) => p.layer === 'k8s');
  const m = k8s ? /^v?(\d+\.\d+\.\d+)$/.exec(k8s.version) : null;
  return m ? `v${m[1]}` : undefined;
}

function kubeadmConfig(input: UserdataInput): string {
  const { identity, secrets, joinAddress } = input;
  const controlPlane = identity.node.role === 'control-plane';
  const advertise = identity.node.address ? { localAPIEndpoint: { advertiseAddress: identity.node.address.ip, bindPort: API_PORT } } : {};
  const nodeRegistration = { name: identity.vmName };
  if (input.init) {
    const version = kubernetesVersion(input.cluster.packs);
    const init = {
      apiVersion: KUBEADM_API, kind: 'InitConfiguration',
      bootstrapTokens: [{ token: secrets.kubeadmToken, ttl: '0s', usages: ['signing', 'authentication'], groups: ['system:bootstrappers:kubeadm:default-node-token'] }],
      certificateKey: secrets.kubeadmCertificateKey, nodeRegistration, ...advertise,
    };
    const clusterConfig = {
      apiVersion: KUBEADM_API, kind: 'ClusterConfiguration', clusterName: input.cluster.name,
      ...(version ? { kubernetesVersion: version } : {}),
      // Joining nodes reach the API at cp-0's address (no load balancer in front yet).
      ...(joinAddress ? { controlPlaneEndpoint: `${joinAddress}:${API_PORT}` } : {}),
    };
    return `${stringify(init)}---\n${stringify(clusterConfig)}`;
  }
  const join = {
    apiVersion: KUBEADM_API, kind: 'JoinConfiguration',
    // The gateway made the cluster's CA and gave it to cp-0, so its hash is known before cp-0
    // exists: the node trusts only an API server whose chain ends at that CA.
    discovery: { bootstrapToken: { apiServerEndpoint: `${joinAddress}:${API_PORT}`, token: secrets.kubeadmToken, caCertHashes: [secrets.ca.caCertHash] } },
    nodeRegistration,
    ...(controlPlane ? { controlPlane: { certificateKey: secrets.kubeadmCertificateKey, ...advertise } } : {}),
  };
  return stringify(join);
}

const FETCH_PACKS = `#!/bin/sh
# Fetches the cluster profile's packs from the gateway's registry; the gateway CA is trusted
# system-wide by ca_certs, the read token travels in a header file only root can read.
set -eu
mkdir -p /var/lib/pcg/packs
while read -r file url; do
  [ -n "$file" ] || continue
  curl --fail --silent --show-error --retry 10 --retry-connrefused --retry-delay 3 \\
    -H @/etc/pcg/registry-auth -o "/var/lib/pcg/packs/$file" "$url"
done < /etc/pcg/packs.list
`;

/**
 * The node's `#cloud-config` (guestinfo.userdata): trust the gateway CA, write the cluster CA
 * (first control plane only), the kubeadm config and the pack list, fetch the packs, run kubeadm init (first control plane) or join,
 * then phone home with the node's token. cloud-init runs phone_home after runcmd (final stage,
 * after scripts_user), so a report means kubeadm has run. Pack values are not embedded: the
 * userdata must stay far below vSphere's extraConfig limits; nodes fetch everything else.
 */
export function nodeUserdata(input: UserdataInput): string {
  const packList = input.cluster.packs.map((p, i) => `${i}-${p.layer}-${safe(p.name)}-${safe(p.version)}.zip ${packArchiveUrl(input.endpoint.url, p)}\n`).join('');
  // kubeadm init keeps a CA it finds in /etc/kubernetes/pki: only the first control plane gets
  // it (with its key), the others pin its hash; further control planes receive it through
  // --upload-certs and the certificate key.
  const clusterCa = input.init ? [
    { path: '/etc/kubernetes/pki/ca.crt', permissions: '0644', content: input.secrets.ca.certPem },
    { path: '/etc/kubernetes/pki/ca.key', permissions: '0600', content: input.secrets.ca.keyPem.reveal() },
  ] : [];
  const config = {
    ca_certs: { trusted: [input.endpoint.caPem] },
    write_files: [
      ...clusterCa,
      { path: '/etc/pcg/kubeadm.yaml', permissions: '0600', content: kubeadmConfig(input) },
      { path: '/etc/pcg/packs.list', permissions: '0644', content: packList },
      { path: '/etc/pcg/registry-auth', permissions: '0600', content: `Authorization: Bearer ${input.secrets.packReadToken}\n` },
      { path: '/usr/local/sbin/pcg-fetch-packs', permissions: '0700', content: FETCH_PACKS },
    ],
    runcmd: [
      ['/usr/local/sbin/pcg-fetch-packs'],
      input.init ? ['kubeadm', 'init', '--config', '/etc/pcg/kubeadm.yaml', '--upload-certs'] : ['kubeadm', 'join', '--config', '/etc/pcg/kubeadm.yaml'],
    ],
    phone_home: { url: phoneHomeUrl(input.endpoint.url, input.nodeToken), post: ['instance_id', 'hostname', 'fqdn'], tries: 30 },
  };
  return `#cloud-config\n${stringify(config, { lineWidth: 0 })}`;
}

/** A file-name-safe form of a pack name or version. */
const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_');
