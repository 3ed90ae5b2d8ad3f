/** Whether an address is loopback (127.0.0.0/8, ::1, or a v4-mapped loopback), where many peers share one IP. */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('::ffff:') ? host.slice(7) : host;
  return h === '::1' || h === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
