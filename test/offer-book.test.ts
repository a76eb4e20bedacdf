import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OfferBook } from '../executor/offer-book.js';
import type { Resources } from '../protocol/types.js';

const r = (cpus: number, memMb: number): Resources => ({ cpus, memMb, ports: [] });

describe('OfferBook', () => {
  it('offers everything free, once at a time', () => {
    const book = new OfferBook(r(2, 1024));
    assert.equal(book.canOffer(0), true);
    const offer = book.makeOffer('o1', 0, 1000);
    assert.deepEqual(offer.resources, r(2, 1024));
    assert.equal(book.canOffer(0), false, 'one outstanding offer at a time');
  });

  it('accept uses part of the offer and frees the rest', () => {
    const book = new OfferBook(r(2, 1024));
    book.makeOffer('o1', 0, 1000);
    assert.deepEqual(book.accept('o1', [r(0.5, 256), r(0.5, 256)], 10), { ok: true });
    assert.deepEqual(book.free(), r(1, 512));
    assert.equal(book.canOffer(10), true);
    book.release(r(0.5, 256));
    assert.deepEqual(book.free(), r(1.5, 768));
  });

  it('rejects a launch against an unknown, expired or too small offer', () => {
    const book = new OfferBook(r(1, 1024));
    book.makeOffer('o1', 0, 1000);
    assert.equal(book.accept('other', [r(0.5, 1)], 10).ok, false);
    const expired = book.accept('o1', [r(0.5, 1)], 5000);
    assert.equal(expired.ok === false && expired.reason, 'INVALID_OFFER');
    book.makeOffer('o2', 6000, 1000);
    const tooBig = book.accept('o2', [r(0.75, 1), r(0.75, 1)], 6001);
    assert.equal(tooBig.ok === false && tooBig.reason, 'INVALID_TASK');
    assert.deepEqual(book.free(), r(1, 1024), 'a refused launch uses nothing');
  });

  it('decline with a refuse period holds offers until it passes', () => {
    const book = new OfferBook(r(1, 1024));
    book.makeOffer('o1', 0, 1000);
    assert.equal(book.decline('o1', 2, 100), true);
    assert.equal(book.canOffer(1000), false);
    assert.equal(book.canOffer(2100), true);
  });

  it('decline with refuse 0 waits for released resources, or a revive', () => {
    const book = new OfferBook(r(1, 1024));
    book.makeOffer('o1', 0, 1000);
    book.accept('o1', [r(0.5, 100)], 1);
    book.makeOffer('o2', 1, 1000);
    book.decline('o2', 0, 2);
    assert.equal(book.canOffer(5000), false, 'the same small remainder is not offered again and again');
    book.release(r(0.5, 100));
    assert.equal(book.canOffer(5000), true);
    book.makeOffer('o3', 5000, 1000);
    book.decline('o3', 60, 5000);
    book.revive();
    assert.equal(book.canOffer(5001), true, 'revive clears the refuse filter');
  });

  it('decline with refuse 0 of an offer made before a release offers again at once: that release was the wake-up', () => {
    // Two tasks on one cpu end together: the first one's release is offered (half a cpu), the
    // second one's release finds that offer outstanding. The scheduler then declines the half
    // (too small for a whole-cpu task): waiting for a further release would wait forever.
    const book = new OfferBook(r(1, 1024));
    book.makeOffer('o1', 0, 1000);
    book.accept('o1', [r(0.5, 100), r(0.5, 100)], 1);
    book.release(r(0.5, 100));
    book.makeOffer('o2', 2, 1000);
    book.release(r(0.5, 100));
    assert.equal(book.canOffer(3), false, 'one offer at a time');
    book.decline('o2', 0, 4);
    assert.equal(book.canOffer(4), true, 'all of it is free and was never offered whole');
    assert.deepEqual(book.makeOffer('o3', 4, 1000).resources, r(1, 1024));
    book.decline('o3', 0, 5);
    assert.equal(book.canOffer(5), false, 'nothing released since o3: wait for a release');
  });

  it('expire and rescind return the offer id and free its resources', () => {
    const book = new OfferBook(r(1, 1024));
    book.makeOffer('o1', 0, 1000);
    assert.equal(book.expire(999), undefined);
    assert.equal(book.expire(1000), 'o1');
    assert.deepEqual(book.free(), r(1, 1024));
    book.makeOffer('o2', 1000, 1000);
    book.stopOffering();
    assert.equal(book.rescind(), 'o2');
    assert.equal(book.canOffer(1001), false, 'a draining executor offers nothing');
  });
});
