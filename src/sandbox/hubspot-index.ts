/**
 * The HubSpot sandbox's records by the value of a property, as HubSpot finds a record by a unique property
 * (upsert by `idProperty`, GET/PATCH `?idProperty=`, the 409 check of a unique value). A scan of every record
 * made each upsert O(records): 100,000 upserts cost 10¹⁰ comparisons, and the in-process benchmark measured
 * the fake instead of Statusflow. An index per (type, property) is built on the first lookup by that property
 * and kept by `changed` on every write; what tests do to records directly (clear a table, archive a record)
 * is checked at lookup, so an entry left stale is skipped, never trusted.
 */
import type { HubSpotObject, HubSpotObjectType } from './hubspot-model.js';

export class PropertyIndex {
  /** `type\0property` → value → the records that had it when written (a few: archived ones keep theirs). */
  readonly #indexes = new Map<string, Map<string, HubSpotObject[]>>();

  constructor(private readonly table: (t: HubSpotObjectType) => Map<string, HubSpotObject>) {}

  /** The record whose `prop` is `value` (the oldest, as a scan in creation order would find), or undefined. */
  find(type: HubSpotObjectType, prop: string, value: string, includeArchived: boolean): HubSpotObject | undefined {
    const held = this.#index(type, prop).get(value);
    if (!held) return undefined;
    const records = this.table(type);
    let found: HubSpotObject | undefined;
    for (const o of held) {
      if (records.get(o.id) !== o || o.properties[prop] !== value || (!includeArchived && o.archived)) continue;
      if (!found || Number(o.id) < Number(found.id)) found = o;
    }
    return found;
  }

  /** Sets `o`'s `prop` to `value` (undefined: removes it), keeping the index. */
  set(type: HubSpotObjectType, o: HubSpotObject, prop: string, value: string | undefined): void {
    this.changed(type, o, prop, o.properties[prop], value);
    if (value === undefined) delete o.properties[prop];
    else o.properties[prop] = value;
  }

  /** Records that `o`'s `prop` went from `before` to `after` (undefined: unset). */
  changed(type: HubSpotObjectType, o: HubSpotObject, prop: string, before: string | undefined, after: string | undefined): void {
    const index = this.#indexes.get(key(type, prop));
    if (!index || before === after) return;
    if (before !== undefined) {
      const held = index.get(before)?.filter((x) => x !== o);
      if (held && held.length > 0) index.set(before, held);
      else index.delete(before);
    }
    if (after !== undefined) {
      const held = index.get(after);
      if (!held) index.set(after, [o]);
      else if (!held.includes(o)) held.push(o);
    }
  }

  #index(type: HubSpotObjectType, prop: string): Map<string, HubSpotObject[]> {
    const k = key(type, prop);
    let index = this.#indexes.get(k);
    if (!index) {
      index = new Map();
      for (const o of this.table(type).values()) {
        const v = o.properties[prop];
        if (v === undefined) continue;
        const held = index.get(v);
        if (held) held.push(o);
        else index.set(v, [o]);
      }
      this.#indexes.set(k, index);
    }
    return index;
  }
}

const key = (type: HubSpotObjectType, prop: string) => `${type}\u0000${prop}`;
