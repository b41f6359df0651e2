import { createHash } from 'node:crypto';
import type { ClusterCa, ClusterKeys } from '../jobs/job-executor.js';

/** Per-cluster secrets the userdata carries besides each node's phone-home token. */
export interface ClusterSecrets {
  /** Bearer token nodes present to the gateway's pack registry (read-only, this cluster's packs). */
  readonly packReadToken: string;
  /** kubeadm bootstrap token, `[a-z0-9]{6}.[a-z0-9]{16}`: joins nodes to the first control plane. */
  readonly kubeadmToken: string;
  /** kubeadm certificate key (64 hex): lets further control-plane nodes fetch the uploaded certificates. */
  readonly kubeadmCertificateKey: string;
  /**
   * The cluster's CA, made by the gateway as Cluster API does: the first control plane gets the
   * cert and key (kubeadm init uses an existing CA), every joining node pins its hash, so no node
   * joins with unsafeSkipCAVerification even though cp-0 does not exist when its userdata is written.
   */
  readonly ca: ClusterCa;
}

/**
 * The cluster's secrets, the same for every run (and every retried clone) of the cluster: the
 * pack token and the CA are kept by the gateway (ClusterKeys); the kubeadm secrets are derived
 * from the CA's private key, which no one but the gateway and cp-0 holds (the pack token, which
 * every node holds, would let one node compute them; the CA key would not).
 */
export async function clusterSecrets(clusterId: string, keys: ClusterKeys): Promise<ClusterSecrets> {
  const ca = await keys.clusterCa(clusterId);
  const derive = (purpose: string): Buffer => createHash('sha256').update(`${purpose}\0${clusterId}\0${ca.keyPem.reveal()}`).digest();
  const base36 = (bytes: Buffer, length: number): string => [...bytes].map((b) => (b % 36).toString(36)).join('').slice(0, length);
  return {
    packReadToken: keys.packReadTokenFor(clusterId),
    kubeadmToken: `${base36(derive('kubeadm-token-id'), 6)}.${base36(derive('kubeadm-token-secret'), 16)}`,
    kubeadmCertificateKey: derive('kubeadm-certificate-key').toString('hex'),
    ca,
  };
}
