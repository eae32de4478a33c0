// Drives the console (/console/) in a real browser with puppeteer-core, as a person would:
// it picks an agent, types, clicks, answers the agent's question, and reads what the page
// shows. Run by tests/browser/test_console.py; one JSON object in on stdin:
//   {entry, launch, url, scenario, screenshot, credential?, timeoutMs?}
// and one JSON object out on stdout: what the page showed (see `collect`).

import { readFileSync } from "node:fs";

const config = JSON.parse(readFileSync(0, "utf8"));
const { puppeteer } = await import(config.entry);
const timeout = config.timeoutMs ?? 60000;

// What the page shows, read from its DOM (the data-* attributes are the page's contract).
function collect() {
  const list = (selector, map) => [...document.querySelectorAll(selector)].map(map);
  return {
    phase: document.body.dataset.phase,
    state: document.getElementById("state").dataset.state,
    taskId: document.getElementById("task-id").dataset.taskId,
    statusMessage: document.getElementById("status-message").textContent,
    error: document.getElementById("error").hidden ? "" : document.getElementById("error").textContent,
    events: list("#timeline li.event", (li) => ({
      id: li.dataset.eventId,
      kind: li.dataset.kind,
      state: li.dataset.state ?? null,
      final: li.dataset.final === "true",
    })),
    notices: list("#timeline li.notice", (li) => ({ kind: li.dataset.notice, text: li.textContent })),
    sent: list("#timeline li.sent", (li) => li.textContent),
    artifacts: Object.fromEntries(
      list(".artifact", (box) => [box.dataset.artifactId, box.querySelector("pre").textContent]),
    ),
    injected: window.__injected ?? null,
    randomUUID: typeof crypto.randomUUID,
    agents: list("#agent option", (option) => option.value),
  };
}

// Selectors, not waitForFunction: a polled function is evaluated as a string in the page,
// which the page's Content-Security-Policy (no eval) refuses in Firefox.
async function waitPhase(page, phases) {
  const selector = phases.map((name) => `body[data-phase="${name}"]`).join(", ");
  await page.waitForSelector(selector, { timeout });
}

// Picks an agent once the page has loaded its list (phase "idle"); picking loads its card.
async function pick(page, agent) {
  await waitPhase(page, ["idle"]);
  if ((await page.$eval("#agent", (select) => select.value)) !== agent) {
    await page.select("#agent", agent);
    await waitPhase(page, ["idle"]);
  }
}

// Empties a field, then types into it key by key.
async function type(page, selector, text) {
  await page.$eval(selector, (field) => {
    field.value = "";
  });
  await page.type(selector, text);
}

async function send(page, text) {
  await type(page, "#text", text);
  await page.click("#send");
}

const scenarios = {
  // ask: a question, answered in the page, then the greeting.
  async multiturn(page) {
    await pick(page, "ask");
    await send(page, "hello");
    await waitPhase(page, ["input-required", "error"]);
    const asked = await page.evaluate(collect);
    await type(page, "#reply-text", "Ada");
    await page.click("#reply-send");
    await waitPhase(page, ["done", "error"]);
    return { asked };
  },
  // progress, longer than the gateway lets one stream live: the page resumes by itself.
  async resume(page) {
    await pick(page, "progress");
    await send(page, config.text);
    await waitPhase(page, ["done", "error"]);
    return {};
  },
  // echo with a file and a JSON part, and text that would be markup if shown as HTML.
  async parts(page) {
    await pick(page, "echo");
    await page.click("#more-parts summary");
    const input = await page.$("#file");
    await input.uploadFile(config.file);
    await type(page, "#json", '{"answer": 42}');
    await send(page, config.text);
    await waitPhase(page, ["done", "error"]);
    return {};
  },
  // a long task, canceled from the page while it streams.
  async cancel(page) {
    await pick(page, "progress");
    await send(page, "steps=100 interval=0.5");
    await page.waitForSelector('#timeline li.event[data-state="working"]', { timeout });
    await page.click("#cancel");
    await waitPhase(page, ["done", "error"]);
    return {};
  },
  // a gateway that wants a credential: refused without one, served with one.
  async auth(page) {
    await pick(page, "echo");
    await send(page, "without a key");
    await waitPhase(page, ["error"]);
    const refused = await page.evaluate(collect);
    await page.select("#auth-scheme", "apikey");
    await type(page, "#auth-value", config.credential);
    await send(page, "with a key");
    await waitPhase(page, ["done", "error"]);
    return { refused };
  },
};

const browser = await puppeteer.launch(config.launch);
const consoleLines = [];
let result;
try {
  const page = await browser.newPage();
  page.on("console", (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => consoleLines.push(`pageerror: ${error.message}`));
  if (config.insecureContext) {
    // What a page served over plain http by a non-loopback name lacks.
    await page.evaluateOnNewDocument(() => {
      delete Crypto.prototype.randomUUID;
    });
  }
  const started = Date.now();
  await page.goto(config.url, { waitUntil: "load", timeout });
  const extra = await scenarios[config.scenario](page);
  const shown = await page.evaluate(collect);
  await page.screenshot({ path: config.screenshot, fullPage: true });
  result = {
    ok: true,
    ...shown,
    ...extra,
    console: consoleLines,
    seconds: (Date.now() - started) / 1000,
    browser: await browser.version(),
  };
} catch (error) {
  result = { ok: false, error: String(error?.stack ?? error), console: consoleLines };
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result));
