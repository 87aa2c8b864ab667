// client.cjs — the client side of docs/protocol.md used by the interop tests, written once
// for both runtimes: Node's `ws` package and a browser's WebSocket (served to
// Chromium as a page script). `wsClient(ws, onClose)` takes an open socket
// object with send() and returns { frames, req(op), push(type), sync(cursor) }.
// Frames are kept in arrival order; req and push take the matching frame out.
(function (root) {
  function wsClient(sendFrame) {
    const c = { frames: [], closed: null, nextId: 1 };
    c.onFrame = text => c.frames.push(JSON.parse(text));
    const take = (pred, what, timeout) => new Promise((resolve, reject) => {
      const t0 = Date.now();
      (function poll() {
        const i = c.frames.findIndex(pred);
        if (i >= 0) return resolve(c.frames.splice(i, 1)[0]);
        if (c.closed !== null && !what.startsWith('close')) return reject(new Error(`closed (${c.closed}) waiting for ${what}`));
        if (Date.now() - t0 > timeout) return reject(new Error(`no ${what} within ${timeout} ms`));
        setTimeout(poll, 5);
      })();
    });
    c.req = (o, timeout = 10000) => {
      const id = 'r' + c.nextId++;
      sendFrame(JSON.stringify(Object.assign({ id }, o)));
      return take(f => f.id === id, `reply to ${o.op}`, timeout);
    };
    c.push = (type, timeout = 10000) => take(f => f.type === type && f.id === undefined, `push ${type}`, timeout);
    c.waitClose = (timeout = 10000) => new Promise((resolve, reject) => {
      const t0 = Date.now();
      (function poll() {
        if (c.closed !== null) return resolve(c.closed);
        if (Date.now() - t0 > timeout) return reject(new Error('no close'));
        setTimeout(poll, 5);
      })();
    });
    // sync pages from cursor until complete: { code, events, cursor, pages }
    c.sync = async cursor => {
      const events = [];
      for (let pages = 1; ; pages++) {
        const r = await c.req({ op: 'sync', cursor, limit: 2 });
        if (r.code) return r;
        events.push(...r.events);
        cursor = r.cursor;
        if (r.complete) return { code: 0, events, cursor, pages };
      }
    };
    return c;
  }
  if (typeof module !== 'undefined') module.exports = { wsClient };
  else root.wsClient = wsClient;
})(this);
