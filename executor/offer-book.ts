/**
 * An executor's resource ledger: total, used by running tasks, and at most one outstanding
 * offer. One offer at a time keeps free resources in one piece instead of fragmenting them
 * into slices too small for a task. Pure; the executor drives it with its clock.
 */
import { add, contains, EMPTY, subtract, sum } from '../protocol/resources.js';
import type { Resources } from '../protocol/types.js';

export interface OutstandingOffer {
  id: string;
  resources: Resources;
  expiresAtMs: number;
}

export type AcceptResult = { ok: true } | { ok: false; reason: 'INVALID_OFFER' | 'INVALID_TASK'; message: string };

export class OfferBook {
  private used: Resources = EMPTY;
  private offer: OutstandingOffer | undefined;
  private refuseUntilMs = 0;
  /** After a refuse-0 decline: offer again only once resources are released (or on revive). */
  private waitForRelease = false;
  /**
   * Resources were released while the offer was outstanding. A refuse-0 decline of that offer
   * must not wait for a release: it already came, and no other may ever come (an idle executor).
   */
  private releasedSinceOffer = false;
  private draining = false;
  /** Ports found taken by another process: not offered until the instant given. */
  private readonly withheld = new Map<number, number>();

  constructor(readonly total: Resources) {}

  /** Keeps a port out of offers until `untilMs` (something else on this host listens on it). */
  withhold(port: number, untilMs: number): void {
    this.withheld.set(port, untilMs);
  }

  private withheldPorts(nowMs: number): Resources {
    const ports = [];
    for (const [port, until] of this.withheld) {
      if (until <= nowMs) this.withheld.delete(port);
      else ports.push({ begin: port, end: port });
    }
    return { cpus: 0, memMb: 0, ports };
  }

  get outstanding(): OutstandingOffer | undefined {
    return this.offer;
  }

  get inUse(): Resources {
    return this.used;
  }

  free(nowMs = Date.now()): Resources {
    return subtract(subtract(subtract(this.total, this.used), this.offer?.resources ?? EMPTY), this.withheldPorts(nowMs));
  }

  /** When the refuse filter lifts, if one is set. */
  get refusedUntilMs(): number {
    return this.refuseUntilMs;
  }

  canOffer(nowMs: number): boolean {
    const free = this.free(nowMs);
    return (
      !this.draining &&
      this.offer === undefined &&
      nowMs >= this.refuseUntilMs &&
      !this.waitForRelease &&
      free.cpus > 0 &&
      free.memMb > 0
    );
  }

  /** Reserves everything free for a new offer. Call only when canOffer() is true. */
  makeOffer(id: string, nowMs: number, ttlMs: number): OutstandingOffer {
    this.offer = { id, resources: this.free(nowMs), expiresAtMs: nowMs + ttlMs };
    this.releasedSinceOffer = false;
    return this.offer;
  }

  /** Launch against the outstanding offer; what the tasks do not use is free again. */
  accept(offerId: string, taskResources: readonly Resources[], nowMs: number): AcceptResult {
    const offer = this.offer;
    if (!offer || offer.id !== offerId) {
      return { ok: false, reason: 'INVALID_OFFER', message: `offer ${offerId} is not outstanding (expired, rescinded or from an earlier run)` };
    }
    if (offer.expiresAtMs <= nowMs) {
      this.offer = undefined;
      return { ok: false, reason: 'INVALID_OFFER', message: `offer ${offerId} expired` };
    }
    const needed = sum(taskResources);
    this.offer = undefined;
    if (!contains(offer.resources, needed)) {
      return { ok: false, reason: 'INVALID_TASK', message: `tasks need more than offer ${offerId} holds` };
    }
    this.used = add(this.used, needed);
    return { ok: true };
  }

  decline(offerId: string, refuseSeconds: number, nowMs: number): boolean {
    if (this.offer?.id !== offerId) return false;
    this.offer = undefined;
    if (refuseSeconds > 0) this.refuseUntilMs = nowMs + refuseSeconds * 1000;
    else this.waitForRelease = !this.releasedSinceOffer;
    return true;
  }

  /** Takes back an offer whose lifetime ran out; returns its id so it can be rescinded. */
  expire(nowMs: number): string | undefined {
    if (!this.offer || this.offer.expiresAtMs > nowMs) return undefined;
    const id = this.offer.id;
    this.offer = undefined;
    return id;
  }

  /** Takes back the outstanding offer (shutdown); returns its id. */
  rescind(): string | undefined {
    const id = this.offer?.id;
    this.offer = undefined;
    return id;
  }

  release(resources: Resources): void {
    this.used = subtract(this.used, resources);
    this.waitForRelease = false;
    if (this.offer) this.releasedSinceOffer = true;
  }

  revive(): void {
    this.refuseUntilMs = 0;
    this.waitForRelease = false;
  }

  stopOffering(): void {
    this.draining = true;
  }
}
