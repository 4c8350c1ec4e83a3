// Validating YAML documents with positions (test bed topology files, experiment scenarios): every
// problem is collected and reported as FILE:LINE:COLUMN: field.path: message.
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from 'yaml';

export type Seg = string | number;

export interface Issue {
  file: string;
  line: number;
  column: number;
  /** Field path, e.g. `traffic[1].from`. */
  path: string;
  message: string;
}

export function formatIssue(i: Issue): string {
  return `${i.file}:${i.line}:${i.column}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

export function fmtPath(path: readonly Seg[]): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else s += s ? `.${p}` : p;
  }
  return s;
}

export class Checker {
  readonly issues: Issue[] = [];
  constructor(
    readonly file: string,
    readonly lc: LineCounter,
  ) {}

  report(node: unknown, path: readonly Seg[], message: string): void {
    const pos = this.lc.linePos(nodeOffset(node));
    this.issues.push({ file: this.file, line: pos.line, column: pos.col, path: fmtPath(path), message });
  }

  line(node: unknown): number {
    return this.lc.linePos(nodeOffset(node)).line;
  }

  /** Map entries with their key nodes; reports non-scalar, unknown and duplicate keys. */
  entries(
    map: YAMLMap,
    path: readonly Seg[],
    allowed: readonly string[] | null,
    dupWhat = 'key',
  ): Map<string, { key: Node; value: unknown }> {
    const out = new Map<string, { key: Node; value: unknown }>();
    for (const item of map.items) {
      if (!isPair(item)) continue;
      const keyNode = item.key as Node;
      const key = scalarString(keyNode);
      if (key === undefined) {
        this.report(keyNode, path, `expected a plain key, got ${typeName(keyNode)}`);
        continue;
      }
      if (allowed && !allowed.includes(key)) {
        this.report(keyNode, [...path, key], `unknown key '${key}' (allowed: ${allowed.join(', ')})`);
        continue;
      }
      const prev = out.get(key);
      if (prev) {
        this.report(
          keyNode,
          [...path, key],
          `duplicate ${dupWhat} '${key}' (first at line ${this.line(prev.key)})`,
        );
        continue;
      }
      out.set(key, { key: keyNode, value: item.value });
    }
    return out;
  }
}

/** Parses YAML text; syntax errors become issues (then `root` is undefined). */
export function parseYamlChecked(
  text: string,
  file: string,
): { checker: Checker; root: unknown; syntaxOk: boolean } {
  const lc = new LineCounter();
  const checker = new Checker(file, lc);
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: false, prettyErrors: false });
  for (const e of doc.errors) {
    const pos = lc.linePos(e.pos[0]);
    checker.issues.push({
      file,
      line: pos.line,
      column: pos.col,
      path: '',
      message: `YAML syntax: ${e.message.split('\n')[0]}`,
    });
  }
  return { checker, root: doc.contents, syntaxOk: doc.errors.length === 0 };
}

export function nodeOffset(node: unknown): number {
  const r = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return r ? r[0] : 0;
}

export function scalarString(node: unknown): string | undefined {
  if (isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number')) {
    return String(node.value);
  }
  return undefined;
}

export function typeName(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    return typeof v === 'string' ? `'${v}'` : `${typeof v} ${String(v)}`;
  }
  return 'an unexpected value';
}

export { isMap, isScalar, isSeq };
