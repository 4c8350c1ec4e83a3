// The Datapath an app holds under the shim: one per virtual switch, with the plan's stable datapath id and
// port numbers. Everything it does goes through the ShimController (translation, fan-out, barriers).

import type { AppCommand, AppRequest, Datapath, ReplyTo } from '../../api/types.ts';
import type { MultipartReplyBody, MultipartRequestBody, Port } from '../../openflow/types.ts';
import type { PlanSwitch } from '../plan.ts';

/** What a VirtualDatapath needs from its controller. */
export interface VirtualHost {
  virtualPorts(vdpid: bigint): ReadonlyMap<number, Port>;
  virtualFeatures(vdpid: bigint): { nTables: number; nBuffers: number; capabilities: number };
  isVirtualUp(vdpid: bigint): boolean;
  appSend(dp: VirtualDatapath, command: AppCommand): number;
  appRequest<R extends AppRequest>(
    dp: VirtualDatapath,
    req: R,
    opts?: { timeoutMs?: number },
  ): Promise<ReplyTo<R['type']>>;
  appBarrier(dp: VirtualDatapath, opts?: { timeoutMs?: number }): Promise<void>;
}

export function virtualIdText(id: bigint): string {
  return `0x${id.toString(16).padStart(16, '0')}`;
}

export class VirtualDatapath implements Datapath {
  readonly id: bigint;
  readonly idText: string;
  /** Whether the apps were told this switch is up (switchUp sent, no switchDown since). */
  announced = false;
  private xid = 0;

  constructor(
    private readonly host: VirtualHost,
    readonly vs: PlanSwitch,
  ) {
    this.id = vs.dpid;
    this.idText = virtualIdText(vs.dpid);
  }

  get ports(): ReadonlyMap<number, Port> {
    return this.host.virtualPorts(this.id);
  }
  get nTables(): number {
    return this.host.virtualFeatures(this.id).nTables;
  }
  get nBuffers(): number {
    return this.host.virtualFeatures(this.id).nBuffers;
  }
  get capabilities(): number {
    return this.host.virtualFeatures(this.id).capabilities;
  }
  get connected(): boolean {
    return this.host.isVirtualUp(this.id);
  }

  /** The next xid for a message the app sent without one (never 0). */
  nextXid(): number {
    this.xid = this.xid >= 0xffffffff ? 1 : this.xid + 1;
    return this.xid;
  }

  send(command: AppCommand): number {
    return this.host.appSend(this, command);
  }
  request<R extends AppRequest>(req: R, opts?: { timeoutMs?: number }): Promise<ReplyTo<R['type']>> {
    return this.host.appRequest(this, req, opts);
  }
  barrier(opts?: { timeoutMs?: number }): Promise<void> {
    return this.host.appBarrier(this, opts);
  }
  stats<B extends MultipartRequestBody>(
    body: B,
    opts?: { timeoutMs?: number },
  ): Promise<Extract<MultipartReplyBody, { kind: B['kind'] }>> {
    return this.host
      .appRequest(this, { type: 'multipartRequest', flags: 0, body }, opts)
      .then((m) => m.body as Extract<MultipartReplyBody, { kind: B['kind'] }>);
  }
}
