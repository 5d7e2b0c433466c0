import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { type PendingSocket, UnauthenticatedConnections } from './unauthenticated.js';

/** A socket as admission sees it: an address, a port, a close event, and destroy (which closes it). */
class FakeSocket extends EventEmitter implements PendingSocket {
  destroyed = false;
  constructor(
    readonly remoteAddress: string,
    readonly remotePort: number,
  ) {
    super();
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit('close');
  }
}

let port = 40000;
const socket = (address: string) => new FakeSocket(address, port++);

describe('unauthenticated connections: a global cap shared fairly between addresses', () => {
  it('refuses over the per-address cap, whatever room is left in all', () => {
    const pending = new UnauthenticatedConnections({ perAddress: 2, total: 10 });
    assert.deepEqual(pending.admit(socket('10.0.0.1')), { admitted: true, evicted: false });
    assert.deepEqual(pending.admit(socket('10.0.0.1')), { admitted: true, evicted: false });
    assert.deepEqual(pending.admit(socket('10.0.0.1')), { admitted: false, reason: 'per-address' });
    assert.equal(pending.held, 2);
  });

  it('when full, evicts the oldest connection of the largest holder for an address that holds fewer', () => {
    const pending = new UnauthenticatedConnections({ perAddress: 100, total: 4 });
    const flood = [socket('10.0.0.1'), socket('10.0.0.1'), socket('10.0.0.1')];
    const other = socket('10.0.0.2');
    for (const s of [...flood, other]) assert.equal(pending.admit(s).admitted, true);
    const device = socket('10.0.0.3');
    assert.deepEqual(pending.admit(device), { admitted: true, evicted: true });
    assert.deepEqual(
      flood.map((s) => s.destroyed),
      [true, false, false],
      'the oldest of the flooder, and only it',
    );
    assert.equal(other.destroyed, false);
    assert.equal(pending.held, 4);
    // The flooder's own newcomer does not displace its own (or anyone's) fair share.
    assert.deepEqual(pending.admit(socket('10.0.0.1')), { admitted: false, reason: 'total' });
    assert.equal(flood[1]?.destroyed, false);
  });

  it('refuses the newcomer when no address holds more than the newcomer would', () => {
    const pending = new UnauthenticatedConnections({ perAddress: 100, total: 4 });
    const held = ['10.0.0.1', '10.0.0.1', '10.0.0.2', '10.0.0.2'].map(socket);
    for (const s of held) pending.admit(s);
    // 10.0.0.2 would hold 3 with the newcomer, more than the 2 of the largest holder: refused.
    assert.deepEqual(pending.admit(socket('10.0.0.2')), { admitted: false, reason: 'total' });
    // A new address would hold 1, less than 2: the oldest of the first of the two equal holders goes.
    assert.deepEqual(pending.admit(socket('10.0.0.3')), { admitted: true, evicted: true });
    assert.deepEqual(
      held.map((s) => s.destroyed),
      [true, false, false, false],
    );
    // Now 10.0.0.2 holds the most (2) and its oldest is the one to go for the next new address.
    assert.deepEqual(pending.admit(socket('10.0.0.4')), { admitted: true, evicted: true });
    assert.deepEqual(
      held.map((s) => s.destroyed),
      [true, false, true, false],
    );
    // Every address holds 1: a fifth address would hold 1 too, which is not fewer. Refused.
    assert.deepEqual(pending.admit(socket('10.0.0.5')), { admitted: false, reason: 'total' });
  });

  it('stops counting a connection when it authenticates or closes, and frees its place', () => {
    const pending = new UnauthenticatedConnections({ perAddress: 1, total: 2 });
    const a = socket('10.0.0.1');
    const b = socket('10.0.0.2');
    pending.admit(a);
    pending.admit(b);
    pending.authenticated({ remoteAddress: a.remoteAddress, remotePort: a.remotePort });
    assert.equal(pending.held, 1);
    a.destroy(); // closing after authentication does not count twice
    assert.equal(pending.held, 1);
    b.emit('close');
    assert.equal(pending.held, 0);
    assert.equal(pending.admit(socket('10.0.0.1')).admitted, true);
    pending.authenticated(undefined);
    pending.authenticated({ remoteAddress: '10.9.9.9', remotePort: 1 });
    assert.equal(pending.held, 1);
  });

  it('never holds more than the cap, and a flood from a few addresses leaves room for many others', () => {
    const total = 64;
    const pending = new UnauthenticatedConnections({ perAddress: 100, total });
    const devices: FakeSocket[] = [];
    for (let i = 0; i < 5000; i++) {
      // Nine flooder connections from 3 addresses for every device from its own address.
      if (i % 10 === 9) {
        const device = socket(`10.1.${Math.floor(i / 250)}.${i % 250}`);
        assert.equal(pending.admit(device).admitted, true, `device ${i} got in`);
        devices.push(device);
        // Devices authenticate quickly: each stays pending for a few more arrivals only.
        const done = devices.at(-3);
        if (done && !done.destroyed) pending.authenticated(done);
      } else pending.admit(socket(`192.0.2.${i % 3}`));
      assert.ok(pending.held <= total);
    }
    assert.equal(pending.peak, total);
  });

  it('refuses caps that are not whole numbers from 1', () => {
    assert.throws(
      () => new UnauthenticatedConnections({ perAddress: 0, total: 4 }),
      /unauthenticatedPerAddress/,
    );
    assert.throws(
      () => new UnauthenticatedConnections({ perAddress: 1, total: 1.5 }),
      /unauthenticatedTotal/,
    );
  });
});
