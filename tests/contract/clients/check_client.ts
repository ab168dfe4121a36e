// A short program against the types openapi-typescript generates from openapi/openapi.json
// (./schema.ts), called through openapi-fetch. tests/contract/test_generated_clients.py
// type-checks it with `tsc --strict`: required fields are read plainly, with no
// `undefined` to rule out.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type Stage = components["schemas"]["Stage"];

export function portfolioApi(baseUrl: string, apiKey: string) {
  // JSON only: the spread report can also answer text/csv, which this client never asks for.
  return createClient<paths, "application/json">({
    baseUrl,
    headers: { Authorization: `Bearer ${apiKey}`, Accept: "application/json" },
  });
}

export async function spreadSummary(
  api: ReturnType<typeof portfolioApi>,
  unitId: number,
): Promise<{ verdict: string; coverage: number | null; labShare: number | null; codes: string[] }> {
  const { data, error, response } = await api.GET("/api/v1/reports/spread", {
    params: { query: { unit_id: unitId } },
  });
  if (data === undefined) {
    throw new Error(`spread report: ${response.status} ${error?.detail ?? ""}`);
  }
  const coverage: number | null = data.business_line_coverage;
  const labShare: number | null = data.lab_share;
  const codes: string[] = data.units.map((row) => row.code);
  return { verdict: data.verdict, coverage, labShare, codes };
}

export async function funnel(
  api: ReturnType<typeof portfolioApi>,
): Promise<Array<[Stage, Stage, number | null]>> {
  const { data } = await api.GET("/api/v1/reports/portfolio");
  if (data === undefined) throw new Error("no portfolio report");
  const adoption: number | null = data.adoption_share;
  if (adoption !== null && (adoption < 0 || adoption > 1)) throw new Error("bad share");
  return data.funnel.map((step): [Stage, Stage, number | null] => [
    step.from_stage,
    step.to_stage,
    step.conversion,
  ]);
}

export async function projectMoney(
  api: ReturnType<typeof portfolioApi>,
  projectId: number,
): Promise<[string | null, string | null, string | null]> {
  const { data, response } = await api.GET("/api/v1/projects/{project_id}", {
    params: { path: { project_id: projectId } },
  });
  if (data === undefined) throw new Error(`project: ${response.status}`);
  const etag: string | null = response.headers.get("ETag");
  const budget: string | null = data.budget;
  const fte: string | null = data.fte;
  const summary: string | null = data.summary;
  return [budget ?? summary, fte, etag];
}

export async function changedFields(
  api: ReturnType<typeof portfolioApi>,
  projectId: number,
): Promise<Record<string, unknown>> {
  const { data } = await api.GET("/api/v1/projects/{project_id}/history", {
    params: { path: { project_id: projectId } },
  });
  const newest = data?.items[0];
  if (newest === undefined) return {};
  return Object.fromEntries(Object.entries(newest.changes).map(([field, change]) => [field, change.new]));
}
