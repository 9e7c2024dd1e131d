// The demo flow through a client generated from openapi/openapi.json (openapi-typescript +
// openapi-fetch), as an integrator would write it: every value read from the API keeps the
// type the document gives it — no `any`, no `as` — so a contract that breaks a client breaks
// this file's compilation (`tsc --strict`) or its run.
//
// BASE_URL, TOKEN (a billing contact's) and ACCOUNT_ID come from scripts/check-contract.

import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Schemas = components["schemas"];
type Problem = Schemas["Problem"];

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set`);
  }
  return value;
}

function check(condition: boolean, what: string): void {
  if (!condition) {
    throw new Error(`check failed: ${what}`);
  }
}

/** The body of a successful call, or a failure that shows the problem the server sent. */
function ok<T>(step: string, result: { data?: T; error?: Problem; response: Response }): T {
  const { data, error, response } = result;
  if (data === undefined) {
    const why = error === undefined ? "no body" : `${error.code}: ${error.detail}`;
    throw new Error(`${step}: HTTP ${response.status}, ${why}`);
  }
  console.log(`ok  ${step} (HTTP ${response.status})`);
  return data;
}

/** The problem of a call that must fail, read through the typed error. */
function problem<T>(
  step: string,
  result: { data?: T; error?: Problem; response: Response },
  status: number,
  code: string,
): Problem {
  const { error, response } = result;
  if (error === undefined) {
    throw new Error(`${step}: expected ${status} ${code}, got HTTP ${response.status}`);
  }
  check(response.status === status && error.status === status, `${step}: status ${status}`);
  check(error.code === code, `${step}: code ${code}, got ${error.code}`);
  check(error.type === `/problems/${code}`, `${step}: type of ${code}`);
  console.log(`ok  ${step} (HTTP ${response.status} ${error.code}: ${error.detail})`);
  return error;
}

const accountId = env("ACCOUNT_ID");
const client = createClient<paths>({
  baseUrl: env("BASE_URL"),
  headers: { Authorization: `Bearer ${env("TOKEN")}` },
});
const account = { path: { account_id: accountId } };

// 1. The account's subscriptions.
const subscriptions = ok(
  "list subscriptions",
  await client.GET("/v1/accounts/{account_id}/subscriptions", { params: account }),
);
const subscription: Schemas["SubscriptionView"] | undefined = subscriptions.data.find(
  (s) => s.product === "gotoassist-rs-v4" && s.actions.includes("edit"),
);
if (subscription === undefined) {
  throw new Error("no editable gotoassist-rs-v4 subscription");
}

// 2. A change in the cart: one licence more, on Premium, keeping the billing frequency the
// subscription has (a response enum sent back as a request value).
const change: Schemas["CartItemInput"] = {
  type: "change",
  subscription_id: subscription.id,
  plan: "premium",
  quantity: subscription.quantity + 1,
  billing_frequency: subscription.billing_frequency,
};
const cart = ok(
  "add a change to the cart",
  await client.POST("/v1/accounts/{account_id}/cart/items", { params: account, body: change }),
);
check(cart.item_count === 1, "one item in the cart");

// 3. The checkout summary.
const quote = ok(
  "read the checkout summary",
  await client.GET("/v1/accounts/{account_id}/cart/quote", { params: account }),
);
const [quoted] = quote.items;
check(quoted !== undefined && quoted.quantity === subscription.quantity + 1, "quoted licences");
check(/^-?\d+\.\d{2}$/.test(quote.total_due), `total_due is money: ${quote.total_due}`);
check(quote.requirements.length === 0, "nothing required before checkout");

// 4. The order, exactly once per Idempotency-Key, charged as reviewed (If-Match).
const idempotencyKey = `contract-ts-${Date.now()}`;
const placeOrder = () =>
  client.POST("/v1/accounts/{account_id}/cart/checkout", {
    params: {
      path: { account_id: accountId },
      header: { "Idempotency-Key": idempotencyKey, "If-Match": quote.quote_etag },
    },
    body: {},
  });
const placed = await placeOrder();
const order = ok("place the order", placed);
check(order.status === "completed", `order completed, is ${order.status}`);
check(order.total_due === quote.total_due, "charged what was reviewed");
const replayed = await placeOrder();
check(ok("place the order again, same key", replayed).id === order.id, "the same order");
check(replayed.response.headers.get("Idempotent-Replayed") === "true", "marked replayed");
const licenses: Schemas["LicenseStatus"] | undefined = order.subscriptions.find(
  (s) => s.subscription_id === subscription.id,
);
check(licenses !== undefined && licenses.licenses_unassigned > 0, "licences to assign");

// 5. A licence for each of two users.
const users = ok(
  "list users",
  await client.GET("/v1/accounts/{account_id}/users", { params: account }),
);
check(users.data.length >= 2, "the demo account has two users");
for (const user of users.data.slice(0, 2)) {
  const assignment = ok(
    `assign a licence to ${user.email}`,
    await client.PUT(
      "/v1/accounts/{account_id}/subscriptions/{subscription_id}/assignments/{user_id}",
      {
        params: {
          path: { account_id: accountId, subscription_id: subscription.id, user_id: user.id },
        },
      },
    ),
  );
  check(assignment.user_id === user.id, "assigned to the user");
}

// 6. Problems, read through the typed error.
const [first] = users.data;
if (first === undefined) {
  throw new Error("no user");
}
problem(
  "add a user whose email is taken",
  await client.POST("/v1/accounts/{account_id}/users", {
    params: account,
    body: { name: first.name, email: first.email },
  }),
  409,
  "duplicate-email",
);
const inUse = problem(
  "reduce the licences below those assigned",
  await client.POST("/v1/accounts/{account_id}/cart/items", {
    params: account,
    body: { type: "change", subscription_id: subscription.id, quantity: 1 },
  }),
  409,
  "licenses-in-use",
);
check(
  inUse.licenses_assigned !== undefined &&
    inUse.licenses_to_unassign === inUse.licenses_assigned - 1,
  "licenses-in-use says how many to unassign",
);
const invalid = problem(
  "add an item of zero licences",
  await client.POST("/v1/accounts/{account_id}/cart/items", {
    params: account,
    body: { type: "change", subscription_id: subscription.id, quantity: 0 },
  }),
  422,
  "validation-failed",
);
check(invalid.errors?.[0]?.field === "quantity", "the invalid field is named");

console.log("TypeScript client: the flow passed");
