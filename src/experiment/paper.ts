// The seed paper's published figures ("Live Migration of an Entire Software-Defined Network", Arora and
// Perez-Botero), shown beside ours when a scenario says `reference: paper`.

export const PAPER_TITLE = 'Arora & Perez-Botero, "Live Migration of an Entire Software-Defined Network"';

/** netperf TCP_STREAM (Figure 6), Mbit/s per phase. */
export const PAPER_TCP_MBPS: Record<'asap' | 'alap', Record<string, number>> = {
  asap: { before: 24, 'one-migrated': 18, 'all-migrated': 16, 'after-finalize': 24 },
  alap: { before: 24, 'one-migrated': 18, 'all-migrated': 24, 'after-finalize': 24 },
};

/** ping RTT (Table 1), ms: average and standard deviation, before and during the migration. */
export const PAPER_RTT_MS: Record<
  'asap' | 'alap',
  Record<'before' | 'during', { avg: number; sd: number }>
> = {
  // biome-ignore lint/suspicious/noApproximativeNumericConstant: the paper's measured 0.434 ms, not log10(e)
  asap: { before: { avg: 0.247, sd: 0.516 }, during: { avg: 0.434, sd: 0.867 } },
  alap: { before: { avg: 0.231, sd: 0.516 }, during: { avg: 0.441, sd: 0.949 } },
};

/** DNS client/server, 25 s, ~25,000 queries, all phases inside the run: loss in %. */
export const PAPER_DNS_LOSS_PCT: Record<'asap' | 'alap', number> = { asap: 0.44, alap: 0.39 };
