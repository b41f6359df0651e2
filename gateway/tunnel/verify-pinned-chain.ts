import { X509Certificate } from 'node:crypto';
import { checkServerIdentity, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { spkiPin } from '../../proto/ca-pin.js';
import { PcgError } from '../../proto/errors.js';

/**
 * Checks the relay's certificate chain against the CA pin from the portal: the pinned CA must be
 * in the chain and every link from the leaf up to it must verify. An inspecting proxy re-signs
 * with its own CA and fails here with PCG_ERR_TLS_INTERCEPTED, even if it copies the real CA
 * certificate into the chain it presents.
 */
export function verifyPinnedChain(socket: TLSSocket, host: string, pin: string, now: number): void {
  const peer = socket.getPeerCertificate(true);
  if (!peer || !peer.raw) throw new PcgError('PCG_ERR_TLS_UNTRUSTED', 'the relay presented no certificate');
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  for (let cert: DetailedPeerCertificate | undefined = peer; cert?.raw && !seen.has(cert.fingerprint256) && chain.length < 10; cert = cert.issuerCertificate) {
    seen.add(cert.fingerprint256);
    chain.push(new X509Certificate(cert.raw));
  }
  const anchor = chain.findIndex((c) => spkiPin(c) === pin);
  const top = chain[chain.length - 1]!;
  if (anchor < 0) {
    throw new PcgError('PCG_ERR_TLS_INTERCEPTED', `the certificate presented for ${host} is issued by "${top.issuer.replace(/\n/g, ', ')}", not by the pinned relay CA ${pin}`);
  }
  for (let i = 0; i < anchor; i++) {
    if (!chain[i]!.checkIssued(chain[i + 1]!) || !chain[i]!.verify(chain[i + 1]!.publicKey)) {
      throw new PcgError('PCG_ERR_TLS_INTERCEPTED', `the certificate presented for ${host} is not signed by the pinned relay CA ${pin}`);
    }
  }
  const leaf = chain[0]!;
  if (now < Date.parse(leaf.validFrom) || now > Date.parse(leaf.validTo)) {
    throw new PcgError('PCG_ERR_TLS_UNTRUSTED', `the relay certificate is valid ${leaf.validFrom} to ${leaf.validTo}; check the clocks`);
  }
  const mismatch = checkServerIdentity(host, peer);
  if (mismatch) throw new PcgError('PCG_ERR_TLS_UNTRUSTED', `the relay certificate does not cover ${host}: ${mismatch.message}`);
}
