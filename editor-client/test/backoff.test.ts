import assert from "node:assert/strict";
import { test } from "node:test";
import { RestartPolicy } from "../src/backoff";
import { Activity, statusView } from "../src/status";

const options = { maxRestarts: 3, windowMs: 60_000, baseDelayMs: 500, maxDelayMs: 1_500 };

test("restarts with a doubling, capped delay, then gives up", () => {
  const policy = new RestartPolicy(options);
  const decisions = [0, 1000, 2000, 3000].map((t) => policy.onCrash(t));
  assert.deepEqual(decisions.map((d) => d.restart), [true, true, true, false]);
  assert.deepEqual(decisions.map((d) => d.delayMs), [500, 1000, 1500, 0]);
  assert.match(decisions[0].message, /restarting it \(attempt 1 of 3\)/);
  assert.match(decisions[3].message, /will not be restarted/);
});

test("crashes outside the window are forgotten", () => {
  const policy = new RestartPolicy(options);
  for (const t of [0, 1000, 2000]) {
    policy.onCrash(t);
  }
  const later = policy.onCrash(2000 + 60_000);
  assert.equal(later.restart, true);
  assert.equal(later.attempt, 1);
});

test("a manual restart resets the count", () => {
  const policy = new RestartPolicy(options);
  for (const t of [0, 1, 2, 3]) {
    policy.onCrash(t);
  }
  policy.reset();
  assert.equal(policy.onCrash(4).restart, true);
});

test("status: analysing while pulls are pending, error stands out", () => {
  const activity = new Activity();
  assert.equal(activity.state("ready"), "ready");
  activity.begin();
  assert.equal(activity.state("ready"), "analysing");
  assert.equal(activity.state("starting"), "starting");
  activity.end();
  activity.end();
  assert.equal(activity.state("ready"), "ready");
  assert.equal(statusView("error").background, "statusBarItem.errorBackground");
  assert.match(statusView("analysing").text, /sync~spin/);
  assert.match(statusView("ready", "from PATH").tooltip, /from PATH/);
});
