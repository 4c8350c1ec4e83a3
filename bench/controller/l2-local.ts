// A stand-in OpenFlow 1.3 learning switch for the benchmark, used only when src/apps/l2-learning.ts
// is not there (it is the same algorithm as Ryu's simple_switch_13 and bench/controller/osken_l2.py):
// table-miss -> controller; on packet-in learn src -> in_port; known dst: install (in_port, eth_dst)
// -> output with an idle timeout, then packet-out; unknown dst: flood.

import {
  type App,
  addFlow,
  ethernetHeaderOf,
  output,
  Port,
  replyPacketOut,
  tableMissToController,
} from '../../src/api/index.ts';

const app: App = {
  name: 'l2-local',
  start(api, options) {
    const idleTimeout = typeof options.idleTimeout === 'number' ? options.idleTimeout : 0;
    const tables = new Map<bigint, Map<string, number>>();
    api.on('switchUp', ({ dp }) => {
      tables.set(dp.id, new Map());
      tableMissToController(dp);
    });
    api.on('switchDown', ({ dp }) => {
      tables.delete(dp.id);
    });
    api.on('packetIn', (ev) => {
      const { dp, msg, inPort } = ev;
      const eth = ethernetHeaderOf(msg.data);
      let table = tables.get(dp.id);
      if (!table) {
        table = new Map();
        tables.set(dp.id, table);
      }
      table.set(eth.src, inPort);
      const out = table.get(eth.dst);
      if (out === undefined) {
        replyPacketOut(ev, [output(Port.FLOOD)]);
        return;
      }
      const actions = [output(out)];
      addFlow(dp, { priority: 1, match: { in_port: inPort, eth_dst: eth.dst }, actions, idleTimeout });
      replyPacketOut(ev, actions);
    });
  },
};

export default app;
