/**
 * Datasets the demo server offers besides `arange`: arrays from files (server/demo-signal.ts),
 * listed by GET /api/info with their state while the server still writes them. Picking one sets
 * the array name; such a request carries no params (a file has one size and dtype), and the
 * page shows what arrived instead of checking it against an index: its bytes were checked by the
 * END trailer's XXH32, and the e2e test checks sampled values against the generating formula.
 */
import { ui } from "./view.ts";

/** One dataset as /api/info describes it. */
export interface DatasetInfo {
  name: string;
  description: string;
  dtype: string;
  shape: number[];
  state: "preparing" | "ready" | "failed";
  /** Fraction written, 0..1, while preparing. */
  progress: number;
}

let datasets: DatasetInfo[] = [];

/** The dataset called `name`, if the server offers one. */
export function datasetNamed(name: string): DatasetInfo | undefined {
  return datasets.find((d) => d.name === name);
}

/** Elements of a dataset. */
export function datasetLength(dataset: DatasetInfo): number {
  return dataset.shape.reduce((a, b) => a * b, 1);
}

/** True while some dataset is still being written (the page asks again later). */
export function anyPreparing(): boolean {
  return datasets.some((d) => d.state === "preparing");
}

/** Shows a chip per array the page can ask for; `onPick` gets the name clicked. */
export function renderDatasets(list: readonly DatasetInfo[], onPick: (name: string) => void): void {
  datasets = [...list];
  const chips: HTMLButtonElement[] = [];
  const chip = (name: string, note: string, disabled: boolean) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "dataset-chip";
    button.dataset.name = name;
    button.disabled = disabled;
    button.setAttribute("aria-pressed", String(ui.name.value.trim() === name));
    const main = document.createElement("span");
    main.textContent = name;
    const sub = document.createElement("small");
    sub.textContent = note;
    button.append(main, sub);
    button.addEventListener("click", () => onPick(name));
    chips.push(button);
  };
  chip("arange", "generated", false);
  for (const d of datasets) {
    const state =
      d.state === "preparing" ? ` · writing ${Math.round(d.progress * 100)}%` : d.state === "failed" ? " · failed" : "";
    chip(d.name, `${d.description}${state}`, d.state !== "ready");
  }
  ui.datasets.replaceChildren(...chips);
}

/** Marks the chip of the name typed as pressed. */
export function markPicked(name: string): void {
  for (const button of ui.datasets.querySelectorAll<HTMLButtonElement>(".dataset-chip")) {
    button.setAttribute("aria-pressed", String(button.dataset.name === name));
  }
}

/** The Result card for a dataset: what arrived, checked by the stream's checksum. */
export function renderDatasetResult(dataset: DatasetInfo, array: Float64Array): void {
  ui.verify.dataset.state = "ok";
  ui.verifyTitle.textContent = `${array.length.toLocaleString("en-US")} values from ${dataset.name}`;
  ui.verifyDetail.textContent = "Read from the server's file; every byte checked by the END trailer's XXH32";
  ui.verifyDetail.title = dataset.description;
  const format = (v: number) => v.toPrecision(6);
  ui.firstValues.textContent = `[${Array.from(array.subarray(0, 4), format).join(", ")}, …]`;
  ui.lastLabel.textContent = `a[${(array.length - 1).toLocaleString("en-US")}]`;
  ui.lastValue.textContent = array.length > 0 ? format(array[array.length - 1] as number) : "–";
  ui.checksum.textContent = "–";
  ui.plotNote.textContent = `${dataset.name}: min / max of all ${array.length.toLocaleString("en-US")} samples per pixel column`;
}
