/**
 * A result already in JSON. Listings are asked for far more often than they
 * change, so their JSON is kept and spliced into each reply as it is.
 */
export class Serialized {
  readonly json: string;
  constructor(json: string) {
    this.json = json;
  }
}
