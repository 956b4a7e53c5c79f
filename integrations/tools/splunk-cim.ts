/**
 * CIM data-model checks of one search-time event against pytest-splunk-addon's data-model JSON
 * (`objects[]` with `tags`, `search_constraints`, `fields[]` typed required/conditional/optional
 * with `expected_values`, `validity` and `condition`, and `child_dataset[]`): which datasets the
 * event lands in, and for each, the required fields it lacks, values outside the allowed list and
 * values the model's validity expression rejects.
 */
import { evaluate, type Fields, matchesSearch } from "./splunk-search.ts";

interface CimField {
  name: string;
  type: "required" | "conditional" | "optional" | string;
  expected_values?: string[];
  validity?: string;
  condition?: string;
}

interface CimDataset {
  name: string;
  tags: string[][];
  search_constraints: string;
  fields: CimField[];
  child_dataset: CimDataset[];
}

/** A data model as pytest-splunk-addon stores it. */
export interface CimModel {
  model_name: string;
  objects: CimDataset[];
}

export interface CimResult {
  /** Datasets the event belongs to, as `Model.Parent.Child`. */
  datasets: string[];
  problems: string[];
}

/** Checks one event (fields after search-time processing, `tag` included) against a model. */
export function checkCimModel(model: CimModel, fields: Fields): CimResult {
  const result: CimResult = { datasets: [], problems: [] };
  const tags = new Set(fields.get("tag") ?? []);
  const visit = (ds: CimDataset, path: string) => {
    const tagged = ds.tags.some((alt) => alt.every((t) => tags.has(t)));
    if (!tagged || !matchesSearch(ds.search_constraints, fields)) return;
    const name = `${path}.${ds.name}`;
    result.datasets.push(name);
    for (const f of ds.fields) {
      const needed =
        f.type === "required" ||
        (f.type === "conditional" && f.condition !== undefined && matchesSearch(f.condition, fields));
      const value = fields.get(f.name);
      if (!value || value.length === 0 || value.every((v) => v === "")) {
        if (needed) result.problems.push(`${name}: ${f.type} field ${f.name} is missing`);
        continue;
      }
      if (f.expected_values && f.expected_values.length > 0)
        for (const v of value)
          if (!f.expected_values.includes(v))
            result.problems.push(`${name}: ${f.name}=${v} is not one of ${f.expected_values.join(", ")}`);
      if (f.validity && f.validity !== f.name && evaluate(f.validity, fields) === null)
        result.problems.push(
          `${name}: ${f.name}=${value.join("|")} fails the model's validity ${f.validity}`,
        );
    }
    for (const child of ds.child_dataset ?? []) visit(child, name);
  };
  for (const ds of model.objects) visit(ds, model.model_name);
  return result;
}
