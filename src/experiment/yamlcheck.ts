// YAML value readers the scenario parser uses on top of ../util/yaml-source.ts (positions, issues, key
// checks and type names, shared with the test bed's topology parser).
import { isMap, isPair, isScalar, isSeq } from 'yaml';
import { scalarString } from '../util/yaml-source.ts';

export function scalarValue(node: unknown): unknown {
  return isScalar(node) ? node.value : undefined;
}

export function isNull(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

/** A YAML node as a plain JS value (mappings -> objects, lists -> arrays). */
export function toPlain(node: unknown): unknown {
  if (isMap(node)) {
    const o: Record<string, unknown> = {};
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const k = scalarString(item.key);
      if (k !== undefined) o[k] = toPlain(item.value);
    }
    return o;
  }
  if (isSeq(node)) return node.items.map(toPlain);
  if (isScalar(node)) return node.value;
  return null;
}
