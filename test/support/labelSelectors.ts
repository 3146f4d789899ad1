/**
 * String label selectors as `labels.Parse` takes or refuses them, with the problem named: shared by
 * the domain's grammar test (test/domain/labelSelector.test.ts) and the --label-selector setting's
 * (test/config/Config.test.ts), which must agree.
 */

/** A selector that matches every workflow pod not yet completed: the setting's default. */
export const DEFAULT_SELECTOR = "workflows.argoproj.io/workflow,workflows.argoproj.io/completed!=true"

export const acceptedSelectors: ReadonlyArray<string> = [
  "",
  DEFAULT_SELECTOR,
  "app=web",
  "app==web",
  "app!=web",
  "app=",
  "tier in (a,b)",
  "tier notin (a, b)",
  "tier in (a)",
  "tier in (a,)",
  "app",
  "!app",
  "example.com/app=web, !legacy ,tier notin (x),team",
  "app=in",
  "app==",
  "a=b,c=d"
]

/** [selector, the problem]. */
export const refusedSelectors: ReadonlyArray<readonly [string, string]> = [
  ["app web", "missing operator after \"app\" (found \"web\")"],
  ["app=web,", "missing label key (found the end)"],
  [",app", "missing label key (found \",\")"],
  ["app=a b", "missing \",\" before \"b\""],
  ["app=web tier=db", "missing \",\" before \"tier\""],
  ["app>1", "operator \">\" is not supported"],
  ["tier in a", "missing \"(\" after \"tier in\" (found \"a\")"],
  ["tier in (a,b", "missing \")\" after \"tier in (\" (found the end)"],
  ["tier in (a b)", "missing \",\" or \")\" in the values of \"tier in\" (found \"b\")"],
  ["tier notin ()", "\"tier notin ()\" has no values"],
  ["!", "missing label key after \"!\" (found the end)"],
  ["!app=web", "missing \",\" before \"=\""],
  ["Bad Key=1", "missing operator after \"Bad\" (found \"Key\")"],
  ["bad_key_=1", "\"bad_key_\" is not a valid label key"],
  ["-app=1", "\"-app\" is not a valid label key"],
  ["a/b/c=1", "\"a/b/c\" is not a valid label key"],
  ["Example.com/app=1", "\"Example.com/app\" is not a valid label key"],
  [`${"k".repeat(64)}=1`, `"${"k".repeat(64)}" is not a valid label key`],
  ["app=-web", "\"-web\" is not a valid label value"],
  [`app=${"v".repeat(64)}`, `"${"v".repeat(64)}" is not a valid label value`],
  ["tier in (a,b_)", "\"b_\" is not a valid label value"],
  ["in (a)", "missing label key (found \"in\")"],
  ["app=(x)", "missing value after \"app=\" (found \"(\")"]
]
