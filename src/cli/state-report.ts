/** How a command tells the user what loading its saved state found (CLI `state` event). */
import type { StateReport } from '../state/state-store.js';

export function stateSummary(r: StateReport): Record<string, unknown> {
  const skipped: Record<string, number> = {};
  for (const [ns, rep] of Object.entries(r.namespaces)) if (rep.skipped + rep.readErrors > 0) skipped[ns] = rep.skipped + rep.readErrors;
  return {
    created: r.created,
    skipped,
    foreignKeys: r.foreignKeys,
    discardedUncommitted: r.discardedUncommitted,
    ...(r.rebuiltFromVersion !== undefined ? { rebuiltFromVersion: r.rebuiltFromVersion } : {}),
    ...(r.movedCorruptTo !== undefined ? { movedCorruptTo: r.movedCorruptTo } : {}),
  };
}

export function describeState(r: StateReport): string {
  if (r.created) return 'state: new';
  const parts: string[] = [];
  for (const [ns, rep] of Object.entries(r.namespaces)) {
    if (rep.loaded > 0) parts.push(`${rep.loaded} ${ns} records`);
    if (rep.skipped + rep.readErrors > 0) parts.push(`skipped ${rep.skipped + rep.readErrors} unreadable ${ns} records`);
  }
  if (r.foreignKeys > 0) parts.push(`ignored ${r.foreignKeys} unknown keys`);
  if (r.discardedUncommitted > 0) parts.push(`discarded ${r.discardedUncommitted} records of an interrupted save`);
  if (r.movedCorruptTo !== undefined) parts.push(`the damaged store was moved to ${r.movedCorruptTo}`);
  return `state: ${parts.length > 0 ? parts.join(', ') : 'empty'}`;
}
