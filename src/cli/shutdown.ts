/** Clean shutdown for long-running commands: the first SIGINT/SIGTERM runs `stop`; a second one exits at once. */
export function onShutdown(stop: (signal: NodeJS.Signals) => Promise<void> | void): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(130);
    stopping = true;
    void Promise.resolve(stop(signal)).catch(() => undefined);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
