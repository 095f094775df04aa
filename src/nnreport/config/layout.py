"""Where a study's files live: one place that names every path, so no module parses them back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CHOSEN = "chosen"  # final/chosen/: a Table I study's chosen configuration on its test images


def dataset_name(dataset: dict) -> str:
    """Return the name a study's dataset is filed under (data/<study>/<it>.npz): a built-in's
    name, or the format of the user's own images (image_folder, npz)."""
    return str(dataset.get("name") or dataset["format"])


@dataclass(frozen=True)
class Layout:
    """The folders and files of one study (`study`), relative to the working directory."""

    study: str
    dataset: str
    language: str = "es"  # the report's: another language builds in a folder of its own

    @property
    def data_file(self) -> str:
        """The packed dataset: one copy per study, so two studies' splits never collide."""
        return f"data/{self.study}/{self.dataset}.npz"

    @property
    def results(self) -> str:
        return f"results/{self.study}"

    @property
    def runs(self) -> str:
        return f"{self.results}/runs"

    @property
    def build(self) -> str:
        """The report's figures, tables and LaTeX files: `report/build/<study>/`, or
        `report/build/<study>/<language>/` for a report in a language other than Spanish."""
        own = "" if self.language == "es" else f"/{self.language}"
        return f"report/build/{self.study}{own}"

    @property
    def confusion(self) -> str:
        """The confusion matrix's summary (class names in the report's language)."""
        return f"{self.build}/confusion.json"

    @property
    def logs(self) -> str:
        return f"logs/{self.study}"

    def run_file(self, variant: str, seed: int | str, name: str) -> str:
        """One file of one run: `results/<study>/runs/<variant>/seed<k>/<name>`."""
        return f"{self.runs}/{variant}/seed{seed}/{name}"

    @staticmethod
    def run_of(path: str | Path) -> tuple[str, int]:
        """(variant, seed) of a file that `run_file` names: the one place that reads it back."""
        *_, runs, variant, seed, _name = Path(path).parts
        if runs != "runs" or not seed.startswith("seed") or not seed[4:].isdigit():
            raise ValueError(f"{path} is not a run's file (runs/<variant>/seed<k>/<name>)")
        return variant, int(seed[4:])

    @staticmethod
    def model_of(path: str | Path) -> str:
        """The model of a file that `final` names (final/<model>/<name>)."""
        *_, final, model, _name = Path(path).parts
        if final != "final":
            raise ValueError(f"{path} is not a final model's file (final/<model>/<name>)")
        return model

    def run_files(self, name: str, variants: list[str], seeds: list[int]) -> list[str]:
        """One file of every run of `variants`, variant by variant, seed by seed."""
        return [self.run_file(v, s, name) for v in variants for s in seeds]

    def selection(self, model: str) -> str:
        """The chosen candidate of one model of a model study."""
        return f"{self.results}/selection/{model}.json"

    def final(self, model: str, name: str) -> str:
        """A file of the final evaluation of one model of a model study."""
        return f"{self.results}/final/{model}/{name}"

    def finals(self, name: str, models: list[str]) -> list[str]:
        return [self.final(m, name) for m in models]
