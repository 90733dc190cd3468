import { describe, expect, it } from "vitest";
import { KeySchedule } from "./key-schedule.js";

const RETAIN = 360_000; // ttl 300 s + 60 s leeway
const schedule = new KeySchedule(
  [
    { kid: "new", activatesAt: 1_000_000 },
    { kid: "old", activatesAt: 0 },
  ],
  RETAIN,
);
const kids = (keys: { kid: string }[]) => keys.map((k) => k.kid);

describe("KeySchedule", () => {
  it("publishes an upcoming key before it signs", () => {
    expect(schedule.current(999_999)?.kid).toBe("old");
    expect(kids(schedule.published(999_999))).toEqual(["old", "new"]);
  });

  it("switches signing at activation and keeps the old key published for the token lifetime plus leeway", () => {
    expect(schedule.current(1_000_000)?.kid).toBe("new");
    expect(kids(schedule.published(1_000_000 + RETAIN - 1))).toEqual(["old", "new"]);
    expect(kids(schedule.expired(1_000_000 + RETAIN - 1))).toEqual([]);
  });

  it("drops the old key once every token it signed has expired", () => {
    expect(kids(schedule.published(1_000_000 + RETAIN))).toEqual(["new"]);
    expect(kids(schedule.expired(1_000_000 + RETAIN))).toEqual(["old"]);
  });

  it("signs with the oldest key when none has activated yet, and never expires the current key", () => {
    const future = new KeySchedule([{ kid: "a", activatesAt: 5000 }], RETAIN);
    expect(future.current(0)?.kid).toBe("a");
    expect(future.expired(10 ** 12)).toEqual([]);
  });
});
