import { createHash } from 'node:crypto';
import type { NodeReadiness } from '../jobs/job-executor.js';

/** Per-cluster secrets the userdata carries besides each node's phone-home token. */
export interface ClusterSecrets {
  /** Bearer token nodes present to the gateway's pack registry (read-only, this cluster's packs). */
  readonly packReadToken: string;
  /** kubeadm bootstrap token, `[a-z0-9]{6}.[a-z0-9]{16}`: joins nodes to the first control plane. */
  readonly kubeadmToken: string;
  /** kubeadm certificate key (64 hex): lets further control-plane nodes fetch the uploaded certificates. */
  readonly kubeadmCertificateKey: string;
}

/** Where per-cluster registry tokens come from, when the gateway's registry mints its own. */
export interface PackTokenSource {
  packReadTokenFor(clusterId: string): string;
}

/**
 * The registry read token is minted like node tokens: by the NodeReadiness port, for a pseudo
 * node `.packs` that no NodeSpec can be named (a DnsLabel has no dot), so it never doubles as a
 * node's phone-home token — unless a PackTokenSource (the registry's own) is given. The kubeadm
 * secrets are derived from it, so every run (and every retried clone) writes the same values.
 */
export function clusterSecrets(clusterId: string, readiness: Pick<NodeReadiness, 'tokenFor'>, packTokens?: PackTokenSource): ClusterSecrets {
  const packReadToken = packTokens ? packTokens.packReadTokenFor(clusterId) : readiness.tokenFor(clusterId, '.packs');
  const derive = (purpose: string): Buffer => createHash('sha256').update(`${purpose}\0${clusterId}\0${packReadToken}`).digest();
  const base36 = (bytes: Buffer, length: number): string => [...bytes].map((b) => (b % 36).toString(36)).join('').slice(0, length);
  return {
    packReadToken,
    kubeadmToken: `${base36(derive('kubeadm-token-id'), 6)}.${base36(derive('kubeadm-token-secret'), 16)}`,
    kubeadmCertificateKey: derive('kubeadm-certificate-key').toString('hex'),
  };
}
