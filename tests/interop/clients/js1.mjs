// Interop client: the official @a2a-js/sdk 1.x under Node against the gateway.
//
// Usage: node js1.mjs BASE PUSH_BASE          every operation
//        node js1.mjs --cross BASE IDS_JSON   read, subscribe to and cancel tasks the 0.2
//                                             client created; create one for it to read
//        node js1.mjs --auth APIKEY_BASE JWT_BASE
//                                             authenticate (credentials in the environment,
//                                             A2A_INTEROP_CREDENTIALS) through the SDK's
//                                             AuthenticationHandler and
//                                             createAuthenticatingFetchWithRetry
//
// The SDK is imported from the npm project the test setup built: A2A_INTEROP_JS_ENTRY
// names its entry module. Clients come from `new ClientFactory().createFromUrl(agentUrl)`
// with the SDK's default options (JSON-RPC and HTTP+JSON transports, the card's order),
// and the agent URLs are the ones the gateway publishes (with a trailing slash: the SDK
// resolves the card path relative to the URL). `sendMessage` blocks by default.
//
// Output: one JSON line per operation, as the Python clients print (interop_common.py).

import { pathToFileURL } from "node:url";

const OPERATION_TIMEOUT_MS = 45_000;
const ECHO_TEXT = "interop echo works";
const STREAM_STEPS = 5;
const STREAM_INTERVAL = 0.4;
const LONG_TASK = "steps=60 interval=0.25";
const RESUBSCRIBE_STEPS = 6;
const RESUBSCRIBE_INTERVAL = 0.3;
const ASK_ROUNDS = 2;
const PUSH_URL = "http://127.0.0.1:9/a2a-interop-push";

const entry = process.env.A2A_INTEROP_JS_ENTRY;
if (!entry) {
  console.error("A2A_INTEROP_JS_ENTRY must name the interop npm project's entry.mjs");
  process.exit(2);
}
const { sdk, client: clientModule } = await import(pathToFileURL(entry).href);
const {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  RestTransportFactory,
  createAuthenticatingFetchWithRetry,
} = clientModule;
const { Role, SecurityScheme, TaskState } = sdk;
const API_KEY_HEADER = "X-API-Key";
const AUTH_STREAM_STEPS = 4;
const AUTH_STREAM_INTERVAL = 0.25;

const SDK_VERSION = process.env.A2A_INTEROP_JS_SDK_VERSION ?? "1.x";
const CLIENT = `@a2a-js/sdk ${SDK_VERSION} (Node)`;
const PROTOCOL = "1.0";

class Failed extends Error {}

function expect(condition, message) {
  if (!condition) throw new Failed(message);
}

function emit(operation, ok, detail) {
  const line = { client: CLIENT, version: PROTOCOL, operation, ok, detail };
  process.stdout.write(JSON.stringify(line) + "\n");
}

function describe(error) {
  const parts = [];
  let seen = error;
  while (seen && parts.length < 4) {
    parts.push(`${seen.name ?? "Error"}: ${seen.message ?? String(seen)}`);
    seen = seen.cause;
  }
  return parts.join(" <- ").slice(0, 2000);
}

async function run(operation, body) {
  const started = performance.now();
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Failed(`timed out after ${OPERATION_TIMEOUT_MS / 1000} s`)),
      OPERATION_TIMEOUT_MS,
    );
  });
  let ok = true;
  let detail;
  try {
    detail = await Promise.race([body(), timeout]);
  } catch (error) {
    ok = false;
    detail = error instanceof Failed ? error.message : describe(error);
  } finally {
    clearTimeout(timer);
  }
  emit(operation, ok, `${detail} (${((performance.now() - started) / 1000).toFixed(2)} s)`);
  return ok;
}

function agentUrls(base) {
  base = base.replace(/\/+$/, "");
  return { echo: `${base}/`, progress: `${base}/agents/progress/`, ask: `${base}/agents/ask/` };
}

function message(text, { taskId = "", contextId = "" } = {}) {
  return {
    messageId: crypto.randomUUID(),
    contextId,
    taskId,
    role: Role.ROLE_USER,
    parts: [{ content: { $case: "text", value: text }, metadata: undefined, filename: "", mediaType: "" }],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

function sendParams(text, options = {}) {
  return { tenant: "", message: message(text, options), configuration: undefined, metadata: undefined };
}

const stateName = (state) => TaskState[state] ?? String(state);

function artifactText(task) {
  return (task.artifacts ?? [])
    .flatMap((a) => a.parts)
    .map((p) => (p.content?.$case === "text" ? p.content.value : ""))
    .join("");
}

class Arrivals {
  constructor() {
    this.start = performance.now();
    this.events = [];
  }
  mark(kind) {
    this.events.push([(performance.now() - this.start) / 1000, kind]);
  }
  firstBeforeLastBy(seconds) {
    expect(this.events.length >= 2, `only ${this.events.length} event(s): ${this.summary()}`);
    const first = this.events[0][0];
    const last = this.events[this.events.length - 1][0];
    expect(
      last - first >= seconds,
      `events not live: spread ${(last - first).toFixed(2)} s < ${seconds} s: ${this.summary()}`,
    );
  }
  summary() {
    if (!this.events.length) return "no events";
    const kinds = this.events.map(([, k]) => k).join(",");
    const first = this.events[0][0].toFixed(2);
    const last = this.events[this.events.length - 1][0].toFixed(2);
    return `${this.events.length} events [${kinds}] first at ${first} s, last at ${last} s`;
  }
}

// The task as a stream's events leave it (the client yields raw StreamResponse events).
class Tracker {
  constructor() {
    this.task = undefined;
    this.taskId = "";
    this.state = undefined;
    this.arrivals = new Arrivals();
    this.steps = [];
  }
  add(event) {
    const payload = event.payload;
    expect(payload, `event without payload: ${JSON.stringify(event)}`);
    let kind = payload.$case;
    if (payload.$case === "task") {
      this.task = payload.value;
      this.taskId = payload.value.id;
      this.state = payload.value.status?.state;
    } else if (payload.$case === "statusUpdate") {
      this.taskId ||= payload.value.taskId;
      this.state = payload.value.status?.state;
      kind = stateName(this.state).replace("TASK_STATE_", "").toLowerCase();
      const text = (payload.value.status?.message?.parts ?? [])
        .map((p) => (p.content?.$case === "text" ? p.content.value : ""))
        .join("");
      if (text) this.steps.push(text);
    } else if (payload.$case === "message") {
      throw new Failed(`the agent answered with a Message: ${JSON.stringify(payload.value)}`);
    }
    this.arrivals.mark(kind);
  }
}

async function follow(stream, tracker = new Tracker()) {
  for await (const event of stream) tracker.add(event);
  return tracker;
}

const factory = new ClientFactory();
const connect = (url) => factory.createFromUrl(url);

async function cancelRunning(client, stream, tracker) {
  let canceled;
  for await (const event of stream) {
    tracker.add(event);
    if (!canceled && tracker.steps.length) {
      canceled = await client.cancelTask({ tenant: "", id: tracker.taskId, metadata: undefined });
      tracker.arrivals.mark("cancel-returned");
    }
  }
  expect(canceled, `nothing to cancel at: ${tracker.arrivals.summary()}`);
  expect(
    canceled.status?.state === TaskState.TASK_STATE_CANCELED,
    `CancelTask gave ${stateName(canceled.status?.state)}`,
  );
  expect(tracker.state === TaskState.TASK_STATE_CANCELED, `stream ended ${stateName(tracker.state)}`);
  return canceled;
}

const state = {};
function needs(key) {
  if (!(key in state)) throw new Failed(`needs the result of an earlier operation (${key}), which failed`);
  return state[key];
}

async function mainSuite(base, pushBase) {
  const urls = agentUrls(base);
  const pushUrls = agentUrls(pushBase);

  await run("card", async () => {
    const client = await connect(urls.progress);
    const transport = client.transport;
    const interfaces = (client.agentCard.supportedInterfaces ?? []).map(
      (i) => `${i.protocolBinding} ${i.protocolVersion} ${i.url}`,
    );
    expect(transport.protocolName === "JSONRPC", `picked ${transport.protocolName}`);
    expect(client.protocolVersion === "1.0", `protocol version ${client.protocolVersion}`);
    expect(transport.endpoint === urls.progress, `endpoint ${transport.endpoint}`);
    expect(client.agentCard.capabilities?.streaming, "card: streaming not advertised");
    return `${transport.protocolName} ${client.protocolVersion} at ${transport.endpoint}; card interfaces: ${JSON.stringify(interfaces)}`;
  });

  await run("send", async () => {
    const client = await connect(urls.echo);
    const task = await client.sendMessage(sendParams(ECHO_TEXT));
    expect(task.id && task.status, `SendMessage returned ${JSON.stringify(task)}`);
    state.sendTask = task.id;
    expect(task.status.state === TaskState.TASK_STATE_COMPLETED, `state ${stateName(task.status.state)}`);
    expect(artifactText(task) === ECHO_TEXT, `artifact text ${JSON.stringify(artifactText(task))}`);
    return `SendMessage (default sendMessage, blocking): completed, artifact ${JSON.stringify(artifactText(task))}`;
  });

  await run("stream", async () => {
    const client = await connect(urls.progress);
    const text = `steps=${STREAM_STEPS} interval=${STREAM_INTERVAL}`;
    const tracker = await follow(client.sendMessageStream(sendParams(text)));
    expect(tracker.state === TaskState.TASK_STATE_COMPLETED, `final ${stateName(tracker.state)}`);
    expect(tracker.steps.length >= STREAM_STEPS, `steps ${JSON.stringify(tracker.steps)}`);
    tracker.arrivals.firstBeforeLastBy((STREAM_STEPS - 1) * STREAM_INTERVAL * 0.5);
    return `SendStreamingMessage: ${tracker.arrivals.summary()}`;
  });

  await run("get", async () => {
    const client = await connect(urls.echo);
    const task = await client.getTask({ tenant: "", id: needs("sendTask") });
    expect(task.status?.state === TaskState.TASK_STATE_COMPLETED, `state ${stateName(task.status?.state)}`);
    expect(artifactText(task) === ECHO_TEXT, `artifact text ${JSON.stringify(artifactText(task))}`);
    return "GetTask: completed with its artifact";
  });

  await run("cancel", async () => {
    const client = await connect(urls.progress);
    const tracker = new Tracker();
    await cancelRunning(client, client.sendMessageStream(sendParams(LONG_TASK)), tracker);
    return `CancelTask -> canceled; stream ended canceled: ${tracker.arrivals.summary()}`;
  });

  await run("resubscribe", async () => {
    const client = await connect(urls.progress);
    const text = `steps=${RESUBSCRIBE_STEPS} interval=${RESUBSCRIBE_INTERVAL}`;
    const abort = new AbortController();
    let taskId = "";
    for await (const event of client.sendMessageStream(sendParams(text), { signal: abort.signal })) {
      expect(event.payload?.$case === "task", `first event ${event.payload?.$case}`);
      taskId = event.payload.value.id;
      abort.abort(); // the connection drops after the first event
      break;
    }
    const tracker = await follow(client.resubscribeTask({ tenant: "", id: taskId }));
    expect(tracker.state === TaskState.TASK_STATE_COMPLETED, `final ${stateName(tracker.state)}`);
    const lastStep = `step ${RESUBSCRIBE_STEPS}/${RESUBSCRIBE_STEPS}`;
    expect(tracker.steps.includes(lastStep), `steps ${JSON.stringify(tracker.steps)}`);
    tracker.arrivals.firstBeforeLastBy(RESUBSCRIBE_INTERVAL);
    return `SubscribeToTask (resubscribeTask): ${tracker.arrivals.summary()}`;
  });

  await run("multi-turn", async () => {
    const client = await connect(urls.ask);
    let task = await client.sendMessage(sendParams(`rounds=${ASK_ROUNDS}`));
    const states = [task.status?.state];
    const answers = [];
    for (let n = 1; n < ASK_ROUNDS; n++) answers.push(`Ada ${n}`);
    answers.push("Linus");
    for (const answer of answers) {
      task = await client.sendMessage(sendParams(answer, { taskId: task.id }));
      states.push(task.status?.state);
    }
    const names = states.map(stateName);
    const expected = [...Array(ASK_ROUNDS).fill(TaskState.TASK_STATE_INPUT_REQUIRED), TaskState.TASK_STATE_COMPLETED];
    expect(JSON.stringify(states) === JSON.stringify(expected), `states ${names}`);
    expect(artifactText(task) === "Hello, Linus!", `answer ${JSON.stringify(artifactText(task))}`);
    return `SendMessage x${ASK_ROUNDS + 1}: ${names.join(" -> ")}`;
  });

  await run("push-set", async () => {
    const client = await connect(pushUrls.ask);
    expect(client.agentCard.capabilities?.pushNotifications, "card: push not advertised");
    const task = await client.sendMessage(sendParams("push configs, please"));
    state.pushTask = task.id;
    const stored = [];
    for (const n of [1, 2]) {
      stored.push(
        await client.createTaskPushNotificationConfig({
          tenant: "",
          id: `interop-${n}`,
          taskId: task.id,
          url: PUSH_URL,
          token: `tok-${n}`,
          authentication: undefined,
        }),
      );
    }
    expect(stored[0].url === PUSH_URL && stored[0].id === "interop-1", `stored ${JSON.stringify(stored[0])}`);
    return `CreateTaskPushNotificationConfig x2 on ${task.id}`;
  });

  await run("push-get", async () => {
    const client = await connect(pushUrls.ask);
    const taskId = needs("pushTask");
    const got = await client.getTaskPushNotificationConfig({ tenant: "", taskId, id: "interop-1" });
    expect(got.taskId === taskId && got.url === PUSH_URL && !got.token, `got ${JSON.stringify(got)}`);
    return "GetTaskPushNotificationConfig: url as set, the token not read back";
  });

  const listConfigs = async (client, taskId) => {
    const listed = await client.listTaskPushNotificationConfig({ tenant: "", taskId, pageSize: 0, pageToken: "" });
    return listed.configs.map((c) => c.id).sort();
  };

  await run("push-list", async () => {
    const client = await connect(pushUrls.ask);
    const ids = await listConfigs(client, needs("pushTask"));
    expect(JSON.stringify(ids) === JSON.stringify(["interop-1", "interop-2"]), `listed ${ids}`);
    return `ListTaskPushNotificationConfigs: ${JSON.stringify(ids)}`;
  });

  await run("push-delete", async () => {
    const client = await connect(pushUrls.ask);
    const taskId = needs("pushTask");
    await client.deleteTaskPushNotificationConfig({ tenant: "", taskId, id: "interop-1" });
    const ids = await listConfigs(client, taskId);
    expect(JSON.stringify(ids) === JSON.stringify(["interop-2"]), `after delete: ${ids}`);
    return `DeleteTaskPushNotificationConfig: ${JSON.stringify(ids)} left`;
  });

  await run("list-tasks", async () => {
    const client = await connect(urls.echo);
    const context = `interop-js1-${crypto.randomUUID()}`;
    const created = [];
    for (let n = 0; n < 3; n++) {
      const task = await client.sendMessage(sendParams(`list me ${n}`, { contextId: context }));
      expect(task.contextId === context, `context ${task.contextId}`);
      created.push(task.id);
    }
    const newestFirst = [...created].reverse();
    const request = (extra = {}) => ({
      tenant: "",
      contextId: context,
      status: TaskState.TASK_STATE_UNSPECIFIED,
      pageToken: "",
      statusTimestampAfter: undefined,
      ...extra,
    });
    const listed = await client.listTasks(request());
    const ids = listed.tasks.map((t) => t.id);
    expect(JSON.stringify(ids) === JSON.stringify(newestFirst), `listed ${ids}, created ${created}`);
    expect(listed.totalSize === 3, `totalSize ${listed.totalSize}`);
    const page1 = await client.listTasks(request({ pageSize: 2 }));
    expect(JSON.stringify(page1.tasks.map((t) => t.id)) === JSON.stringify(newestFirst.slice(0, 2)), "page 1");
    expect(page1.nextPageToken, "page 1 has no nextPageToken");
    const page2 = await client.listTasks(request({ pageSize: 2, pageToken: page1.nextPageToken }));
    expect(JSON.stringify(page2.tasks.map((t) => t.id)) === JSON.stringify(newestFirst.slice(2)), "page 2");
    expect(!page2.nextPageToken, `page 2 nextPageToken ${page2.nextPageToken}`);
    return `ListTasks: 3 tasks newest first; pageSize=2 pages ${page1.tasks.length}+${page2.tasks.length}`;
  });
}

async function cross(base, ids) {
  const urls = agentUrls(base);
  const created = {};
  let canceled;

  await run("cross-get-from-sdk02", async () => {
    const echo = await connect(urls.echo);
    const task = await echo.getTask({ tenant: "", id: ids.echo });
    expect(task.status?.state === TaskState.TASK_STATE_COMPLETED, `state ${stateName(task.status?.state)}`);
    expect(artifactText(task) === "made by the 0.2 client", `artifact ${JSON.stringify(artifactText(task))}`);
    const progress = await connect(urls.progress);
    const running = await progress.getTask({ tenant: "", id: ids["progress-js1"] });
    const live = [TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING];
    expect(live.includes(running.status?.state), `running task is ${stateName(running.status?.state)}`);
    return "GetTask: the 0.2 echo task (completed, artifact) and the running progress task";
  });

  await run("cross-subscribe-from-sdk02", async () => {
    const client = await connect(urls.progress);
    const tracker = new Tracker();
    const stream = client.resubscribeTask({ tenant: "", id: ids["progress-js1"] });
    canceled = await cancelRunning(client, stream, tracker);
    return `SubscribeToTask: ${tracker.arrivals.summary()}`;
  });

  await run("cross-cancel-from-sdk02", async () => {
    expect(canceled, "the subscription did not get to cancel the task");
    const client = await connect(urls.progress);
    const task = await client.getTask({ tenant: "", id: ids["progress-js1"] });
    expect(task.status?.state === TaskState.TASK_STATE_CANCELED, `GetTask after cancel: ${stateName(task.status?.state)}`);
    return "CancelTask -> canceled (the 0.2 task), and GetTask agrees";
  });

  await run("cross-create", async () => {
    const echo = await connect(urls.echo);
    const task = await echo.sendMessage(sendParams("made by js1"));
    expect(task.status?.state === TaskState.TASK_STATE_COMPLETED, `state ${stateName(task.status?.state)}`);
    created["echo-js1"] = task.id;
    const ask = await connect(urls.ask);
    const asking = await ask.sendMessage(sendParams("hi from js1"));
    expect(asking.status?.state === TaskState.TASK_STATE_INPUT_REQUIRED, `ask: ${stateName(asking.status?.state)}`);
    created["ask-js1"] = asking.id;
    const progress = await connect(urls.progress);
    const params = sendParams(LONG_TASK);
    params.configuration = { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: true };
    const running = await progress.sendMessage(params);
    const live = [TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING];
    expect(live.includes(running.status?.state), `progress: ${stateName(running.status?.state)}`);
    created["progress-js1"] = running.id;
    return `SendMessage: ${JSON.stringify(created)}`;
  });
  process.stdout.write(JSON.stringify({ client: CLIENT, created }) + "\n");
}

// A card's scheme as the SDK's 1.0 type. The resolver hands back a card whose schemes
// carry a `type` (the 0.3 OpenAPI fields next to the 1.0 oneof) as it came, untyped, so an
// untyped entry is read with the SDK's own ProtoJSON reader, `SecurityScheme.fromJSON`.
function typedScheme(entry) {
  if (entry?.scheme?.$case) return [entry.scheme, "typed by the resolver"];
  return [SecurityScheme.fromJSON(entry ?? {}).scheme, "read with SecurityScheme.fromJSON"];
}

// The headers of the scheme, among the card's securityRequirements (OR), that a
// credential of `mode` satisfies.
function cardHeaders(card, mode, secret) {
  for (const requirement of card.securityRequirements ?? []) {
    for (const name of Object.keys(requirement.schemes ?? {})) {
      const [scheme, how] = typedScheme(card.securitySchemes?.[name]);
      if (mode === "apikey" && scheme?.$case === "apiKeySecurityScheme") {
        expect(scheme.value.location === "header", `${name} is in ${scheme.value.location}`);
        expect(scheme.value.name === API_KEY_HEADER, `${name} names header ${scheme.value.name}`);
        return { name, how, what: `apiKeySecurityScheme in header ${scheme.value.name}`, headers: { [scheme.value.name]: secret } };
      }
      const bearer = scheme?.$case === "httpAuthSecurityScheme" && scheme.value.scheme.toLowerCase() === "bearer";
      if (mode === "jwt" && bearer) {
        expect(scheme.value.bearerFormat === "JWT", `bearerFormat ${scheme.value.bearerFormat}`);
        return { name, how, what: "httpAuthSecurityScheme bearer JWT", headers: { Authorization: `Bearer ${secret}` } };
      }
    }
  }
  throw new Failed(`the card has no ${mode} scheme: ${JSON.stringify(card.securityRequirements)}`);
}

// The SDK's AuthenticationHandler: nothing up front; a 401 is answered with the headers of
// the card's scheme (when it has a card and a secret), kept once the retry succeeded.
class CardAuthentication {
  constructor(mode, secret) {
    this.mode = mode;
    this.secret = secret;
    this.card = undefined;
    this.active = {};
    this.picked = undefined;
    this.challenges = [];
    this.retried = 0;
  }
  async headers() {
    return this.active;
  }
  async shouldRetryWithHeaders(_request, response) {
    if (response.status !== 401) return undefined;
    this.challenges.push(response.headers.get("www-authenticate"));
    if (!this.card || !this.secret) return undefined;
    this.picked = cardHeaders(this.card, this.mode, this.secret);
    this.retried += 1;
    return this.picked.headers;
  }
  async onSuccessfulRetry(headers) {
    this.active = headers;
  }
}

// A ClientFactory whose transports and card resolver fetch through the handler.
function authenticatingFactory(handler) {
  const fetchImpl = createAuthenticatingFetchWithRetry(fetch, handler);
  return new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl }), new RestTransportFactory({ fetchImpl })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
    }),
  );
}

async function authSuite(apikeyBase, jwtBase) {
  const raw = process.env.A2A_INTEROP_CREDENTIALS;
  if (!raw) {
    console.error("A2A_INTEROP_CREDENTIALS is not set");
    process.exit(2);
  }
  const given = JSON.parse(raw);
  const modes = [["apikey", apikeyBase], ["jwt", jwtBase]];
  // The two modes side by side.
  await Promise.all(modes.map(([mode, base]) => run(`auth-${mode}`, async () => {
    const urls = agentUrls(base);
    const anonymous = new CardAuthentication(mode, undefined);
    const refusedClient = await authenticatingFactory(anonymous).createFromUrl(urls.echo);
    anonymous.card = refusedClient.agentCard;
    let refusal;
    try {
      await refusedClient.sendMessage(sendParams(ECHO_TEXT));
    } catch (error) {
      refusal = error;
    }
    expect(refusal, "SendMessage without the credential was not refused");
    expect(anonymous.challenges.length === 1, `401s seen without the credential: ${anonymous.challenges.length}`);
    const handler = new CardAuthentication(mode, given[mode]);
    const factory = authenticatingFactory(handler);
    const echo = await factory.createFromUrl(urls.echo);
    handler.card = echo.agentCard;
    expect(echo.agentCard.capabilities?.extendedAgentCard, "card: extendedAgentCard not declared");
    // The client's card call: the public card says extendedAgentCard, so it fetches that.
    const extended = await echo.getAgentCard();
    expect(extended.name === "echo", `extended card ${extended.name}`);
    const task = await echo.sendMessage(sendParams(ECHO_TEXT));
    expect(task.status?.state === TaskState.TASK_STATE_COMPLETED, `send: ${stateName(task.status?.state)}`);
    expect(artifactText(task) === ECHO_TEXT, `artifact text ${JSON.stringify(artifactText(task))}`);
    expect(handler.retried === 1 && handler.picked, `retries ${handler.retried}`);
    const progress = await factory.createFromUrl(urls.progress);
    const text = `steps=${AUTH_STREAM_STEPS} interval=${AUTH_STREAM_INTERVAL}`;
    const tracker = await follow(progress.sendMessageStream(sendParams(text)));
    expect(tracker.state === TaskState.TASK_STATE_COMPLETED, `stream: ${stateName(tracker.state)}`);
    tracker.arrivals.firstBeforeLastBy((AUTH_STREAM_STEPS - 1) * AUTH_STREAM_INTERVAL * 0.5);
    const got = await echo.getTask({ tenant: "", id: task.id });
    expect(got.status?.state === TaskState.TASK_STATE_COMPLETED, `get: ${stateName(got.status?.state)}`);
    expect(handler.retried === 1, `the handler retried ${handler.retried} times`);
    const { name, how, what } = handler.picked;
    return (
      `card securityRequirements -> scheme ${JSON.stringify(name)} (${what}, ${how}); ` +
      `handler without a secret: HTTP 401 (WWW-Authenticate: ${anonymous.challenges[0]}), ` +
      `SendMessage threw ${refusal.name}: ${String(refusal.message).slice(0, 80)}; with it: the first ` +
      `request (getAgentCard: GetExtendedAgentCard) answered 401, the handler replied with the card's ` +
      `scheme and retried, then sent it up front: SendMessage completed, SendStreamingMessage ${tracker.arrivals.summary()}, GetTask completed`
    );
  })));
}

const args = process.argv.slice(2);
if (args[0] === "--cross" && args.length === 3) {
  await cross(args[1], JSON.parse(args[2]));
} else if (args[0] === "--auth" && args.length === 3) {
  await authSuite(args[1], args[2]);
} else if (args.length === 2 && !args[0].startsWith("--")) {
  await mainSuite(args[0], args[1]);
} else {
  console.error("usage: js1.mjs BASE PUSH_BASE | js1.mjs --cross BASE IDS_JSON | js1.mjs --auth APIKEY_BASE JWT_BASE");
  process.exit(2);
}
