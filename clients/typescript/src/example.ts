// A mobile app's first calls, written against the types generated from the
// committed spec: log in, list projects, read the task list. CI type-checks
// it (`npm run check`); a spec change that breaks a client breaks this.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type Task = components["schemas"]["TaskView"];
type Project = components["schemas"]["ProjectView"];

export async function firstHour(baseUrl: string, username: string, password: string) {
  const client = createClient<paths>({ baseUrl });
  const login = await client.POST("/api/v1/auth/login", { body: { username, password } });
  if (!login.data) {
    throw new Error(`login failed: ${login.error?.code ?? "unknown"}`);
  }
  const headers = { Authorization: `Bearer ${login.data.access_token}` };

  const projects: Project[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.GET("/api/v1/projects", {
      params: { query: { limit: 50, cursor } },
      headers,
    });
    if (!page.data) throw new Error(page.error?.detail ?? "cannot list projects");
    projects.push(...page.data.items);
    cursor = page.data.next_cursor ?? undefined;
  } while (cursor);

  const tasks = await client.GET("/api/v1/me/tasks", { params: { query: { limit: 20 } }, headers });
  const overdue: Task[] = (tasks.data?.items ?? []).filter((t) => t.overdue);
  const late = overdue.map((t) => `${t.title}: due ${t.due_at} (${t.reason})`);
  return { projects: projects.map((p) => `${p.code} ${p.name} (${p.ledger.status})`), late };
}
