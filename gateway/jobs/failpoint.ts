/**
 * The daemon's checkpoint hook (JobContext.checkpoint): when `failpoint` names the checkpoint
 * reached, the process kills itself with SIGKILL, so a fault test gets a kill -9 at an exact step
 * (after an intent, after a clone was issued, …) instead of at a random moment. Test-only:
 * `PCG_FAILPOINT` is unset in production, and then this does nothing.
 */
export function failpointHook(failpoint: string | undefined, kill: (pid: number, signal: NodeJS.Signals) => void = process.kill.bind(process)): (name: string) => void {
  if (!failpoint) return () => undefined;
  return (name) => {
    if (name === failpoint) kill(process.pid, 'SIGKILL');
  };
}
