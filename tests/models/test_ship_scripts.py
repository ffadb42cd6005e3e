"""scripts/checkpoints.py (runs <-> models/checkpoints) and scripts/ship_zoo.py's run handling."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import torch

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _script(name: str) -> ModuleType:
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))  # ship_zoo imports ship_report beside it
    spec = importlib.util.spec_from_file_location(f"_script_{name}", SCRIPTS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def _config(folder: Path, name: str, out: Path) -> None:
    (folder / f"{name}.toml").write_text(
        f'name = "{name}"\nbackbone = "dln"\nconversion = "ranlen"\nout_dir = "{out.as_posix()}"\n',
        encoding="utf-8")


def test_save_keeps_finished_runs_and_restore_puts_them_back(tmp_path: Path) -> None:
    ck = _script("checkpoints")
    configs, runs, store = tmp_path / "configs", tmp_path / "runs", tmp_path / "store"
    configs.mkdir()
    _config(configs, "a", runs / "a")
    _config(configs, "b", runs / "b")
    (runs / "a").mkdir(parents=True)
    (runs / "b").mkdir()
    torch.save({"config": {"name": "a", "steps": 7}}, runs / "a" / "final.pt")
    (runs / "a" / "summary.json").write_text('{"step": 7}', encoding="utf-8")
    (runs / "a" / "log.jsonl").write_text('{"step": 1}\n', encoding="utf-8")
    (runs / "a" / "last.pt").write_bytes(b"not kept")
    (runs / "b" / "last.pt").write_bytes(b"unfinished")  # no summary: not saved

    assert ck.save(configs, store) == 1
    assert sorted(p.name for p in (store / "a").iterdir()) == ["final.pt", "log.jsonl",
                                                                "summary.json"]
    assert not (store / "b").exists()

    for p in (runs / "a").iterdir():
        p.unlink()
    assert ck.restore(configs, store) == 1
    assert (runs / "a" / "log.jsonl").read_text(encoding="utf-8") == '{"step": 1}\n'
    assert json.loads((runs / "a" / "config.json").read_text(encoding="utf-8")) == {
        "name": "a", "steps": 7}  # written from the config inside final.pt
    assert not list(runs.rglob("*.part"))
    # a finished run is never overwritten by the store
    (runs / "a" / "summary.json").write_text('{"step": 8}', encoding="utf-8")
    assert ck.restore(configs, store) == 0
    assert json.loads((runs / "a" / "summary.json").read_text(encoding="utf-8")) == {"step": 8}


def test_log_figures_carry_over_only_from_the_same_run() -> None:
    ship_zoo = _script("ship_zoo")
    old = {"config": "models/configs/x.toml", "training": {"step": 100, "wall_time_s": 60.0},
           "training_eval": {"step": 50, "global_psnr": 17.0}, "lb_share": 0.01}
    previous = {old["config"]: old}

    same = {"config": old["config"], "training": {"step": 100, "wall_time_s": 60.0},
            "training_eval": None, "lb_share": None}
    ship_zoo._carried_over(same, previous)
    assert same["training_eval"] == old["training_eval"] and same["lb_share"] == 0.01

    retrained = {"config": old["config"], "training": {"step": 120, "wall_time_s": 60.0},
                 "training_eval": None, "lb_share": None}
    ship_zoo._carried_over(retrained, previous)
    assert retrained["training_eval"] is None and retrained["lb_share"] is None

    measured = {"config": old["config"], "training": {"step": 100, "wall_time_s": 60.0},
                "training_eval": {"step": 60, "global_psnr": 18.0}, "lb_share": None}
    ship_zoo._carried_over(measured, previous)
    assert measured["training_eval"]["step"] == 60  # a run's own log wins

    renamed = {"config": "models/configs/x-old.toml",
               "training": {"step": 100, "wall_time_s": 60.0},
               "training_eval": None, "lb_share": None}
    ship_zoo._carried_over(renamed, previous)  # the same run under a renamed config
    assert renamed["training_eval"] == old["training_eval"]
    twin = {**old, "config": "models/configs/y.toml"}  # two rows match: neither is taken
    renamed["training_eval"] = None
    ship_zoo._carried_over(renamed, {**previous, twin["config"]: twin})
    assert renamed["training_eval"] is None


def test_the_last_stage_of_each_model_ships_and_earlier_ones_are_evaluated(tmp_path: Path) -> None:
    ship_zoo = _script("ship_zoo")

    def run(name: str, model: str) -> object:
        return ship_zoo.Run(tmp_path / f"{name}.toml", name, model, tmp_path / name, {})

    runs = [run(n, m) for n, m in (
        ("dln-ranlen", "dln-ranlen"), ("dln-ranlen-long", "dln-ranlen"),
        ("dln-concat", "dln-concat"), ("dln-concat-long", "dln-concat"),
        ("fusion_net-ranlen", "fusion_net-ranlen"), ("fusion_net-ranlen-long", "fusion_net-ranlen"),
        ("fusion_net-ranlen-long3", "fusion_net-ranlen"), ("fusion_net-ranlen-nolb", "fusion_net-ranlen"),
        ("star_dce-global", "star_dce-global"), ("fusion_net-ranlen-nomix", "fusion_net-ranlen"),
        ("fusion_net-ranlen-nomix-long", "fusion_net-ranlen"),
        ("fusion_net-ranlen-mix", "fusion_net-ranlen"))]
    for r in runs:
        r.out.mkdir()
        (r.out / "summary.json").write_text("{}", encoding="utf-8")
        (r.out / "final.pt").write_bytes(b"")
    shipped, extra = ship_zoo.shipping_plan(runs, snapshot=False)
    assert {k: v.name for k, v in shipped.items()} == {
        "dln-ranlen": "dln-ranlen-long", "dln-concat": "dln-concat-long",
        "fusion_net-ranlen": "fusion_net-ranlen-long3", "star_dce-global": "star_dce-global"}
    assert {k: v.name for k, v in extra.items()} == {
        "dln-ranlen-short": "dln-ranlen", "dln-concat-short": "dln-concat",
        "fusion_net-ranlen-short": "fusion_net-ranlen",
        "fusion_net-ranlen-stage2": "fusion_net-ranlen-long",
        "fusion_net-ranlen-nolb": "fusion_net-ranlen-nolb",
        "fusion_net-ranlen-nomix": "fusion_net-ranlen-nomix",
        "fusion_net-ranlen-nomix-long": "fusion_net-ranlen-nomix-long",
        "fusion_net-ranlen-mix": "fusion_net-ranlen-mix"}


def test_earlier_stages_are_named_by_their_current_config(tmp_path: Path) -> None:
    ship_zoo = _script("ship_zoo")
    first = tmp_path / "runs" / "m-v2"
    first.mkdir(parents=True)
    (first / "summary.json").write_text(json.dumps(
        {"name": "m-v2", "step": 10, "wall_time_s": 60.0}), encoding="utf-8")
    (first / "config.json").write_text(json.dumps({"data": {"synthetic": ["s"]}}),
                                       encoding="utf-8")
    stage1 = ship_zoo.Run(tmp_path / "m.toml", "m", "m", first, {})
    stage2 = ship_zoo.Run(tmp_path / "m-long.toml", "m-long", "m", tmp_path / "runs" / "m-long",
                          {"init_from": str(first / "final.pt")})
    [old] = ship_zoo._earlier_stages(stage2)
    assert old["name"] == "m-v2" and old["step"] == 10 and old["synthetic"] == ["s"]
    [renamed] = ship_zoo._earlier_stages(stage2, ship_zoo.config_runs([stage1, stage2]))
    assert renamed["name"] == "m"
    # a renamed stage's stored config still points at its old parent; the current config wins
    base = tmp_path / "runs" / "m0"
    base.mkdir()
    (base / "summary.json").write_text(json.dumps(
        {"name": "m0", "step": 5, "wall_time_s": 30.0}), encoding="utf-8")
    (first / "config.json").write_text(json.dumps(
        {"init_from": str(tmp_path / "runs" / "m0-old-name" / "final.pt")}), encoding="utf-8")
    stage0 = ship_zoo.Run(tmp_path / "m0.toml", "m0", "m", base, {})
    stage1 = ship_zoo.Run(tmp_path / "m.toml", "m", "m", first,
                          {"init_from": str(base / "final.pt")})
    assert [st["name"] for st in ship_zoo._earlier_stages(stage2)] == ["m-v2"]  # chain broken
    chain = ship_zoo._earlier_stages(stage2, ship_zoo.config_runs([stage0, stage1, stage2]))
    assert [st["name"] for st in chain] == ["m0", "m"]


def test_non_uniform_light_table_lists_shipped_models_then_other_fusion_runs() -> None:
    report = _script("ship_report")

    def row(name: str, backbone: str, shipped: bool, psnr: float) -> dict:
        return {"name": name, "backbone": backbone, "shipped": shipped, "global_psnr": 18.0,
                "mixed": {"global_psnr": psnr, "global_ssim": 0.7, "global_delta_e": 30 - psnr,
                          "area_a_psnr": psnr + 1}}

    doc = {"models": [row("fusion_net-ranlen-nomix", "fusion_net", False, 11.1),
                      row("dln-ranlen", "dln", True, 13.0),
                      row("dln-concat-short", "dln", False, 12.0),
                      row("fusion_net-ranlen", "fusion_net", True, 15.3)],
           "mixed_light": {"pairs": "../cache/eval15-mixed", "per_image": 1, "seed": 2,
                           "mixed": 1.0, "input_psnr": 9.5, "input_ssim": 0.4,
                           "input_delta_e": 25.04, "lol_input_psnr": 7.8}}
    text = "\n".join(report.mixed_light_section(doc))
    names = [line.split(" | ")[0][2:] for line in text.splitlines() if line.startswith("| ")]
    assert names[2:] == ["the input itself", "fusion_net-ranlen", "dln-ranlen",
                         "fusion_net-ranlen-nomix (not shipped)"]
    assert "--seed 2 --mixed 1.0" in text and "| 15.30 | 0.700 | 14.7 | 16.30 |" in text
    assert "| 9.50 | 0.400 | 25.0 | – |" in text  # the input's own colour error
    assert report.mixed_light_section({"models": doc["models"]}) == []  # not measured


def test_the_real_photo_figures_reach_the_page_the_cards_and_the_readme() -> None:
    report = _script("ship_report")

    def edit(kept: int, n: int = 35, **extra: float) -> dict:
        return {"n": n, "kept": kept, "clip": 0.0, "fog": 4.0, "lift": 20.0, "hue": 3.0,
                "sat": 1.0, "grain": 0.4, "fails": {}, **extra}

    real = {"photos": {f"p{k}": {} for k in range(35)}, "sheets": ["x/real-m-1.png"],
            "knob_model": "m",
            "knob_summary": {"gamma1_dark": {"both_ways": 34, "n": 35}},
            "summary": {"m": {"global": edit(32), "ellipse": edit(30, halo_ok=33),
                              "subject": edit(20, n=29)},
                        "baseline_b": {"global": edit(21)}}}
    line = report.real_line({"name": "m"}, real)
    assert "kept on 32/35 globally, 30/35 with a centred ellipse, 20/29 with the subject" in line
    assert "baseline B (denoise, gamma, shoulder) is kept on 21/35" in line and "more than" in line
    assert report.real_line({"name": "other"}, real) == ""
    page = "\n".join(report.real_section(real, None))
    assert "| m | 32/35 | 30/35 | 20/29 |" in page and "| baseline_b | 21/35 | – | – |" in page
    assert "darkest decile rises | 34/35 |" in page and "(real_sheets/real-m-1.png)" in page
    assert report.real_section(None, None) == []


def test_ablation_table_adds_the_heavier_l_b_runs_in_beta_order() -> None:
    report = _script("ship_report")

    def row(name: str, rough: float, beta: float | None) -> dict:
        return {"name": name, "config": f"models/configs/{name}.toml", "b_roughness": rough,
                "global_psnr": 18.0, "global_ssim": 0.7, "area_a_psnr": 18.5,
                "training": {"step": 100, "wall_time_s": 1500.0, "beta": beta}}

    doc = {"models": [row("fusion_net-ranlen-beta1e-2", 0.0101, 1e-2), row("fusion_net-ranlen", 0.0146, 1e-4),
                      row("fusion_net-ranlen-nolb", 0.0133, None),
                      row("fusion_net-ranlen-beta1e-3", 0.0120, 1e-3)]}
    lines = [ln for ln in report.ablation(doc).splitlines() if ln.startswith("| models/")]
    assert [ln.split(" | ")[1] for ln in lines] == ["yes, β 0.0001", "no", "yes, β 0.001",
                                                   "yes, β 0.01"]
    assert "0.0101" in lines[-1]


def test_refresh_puts_new_figures_into_shipped_rows_only() -> None:
    rs = _script("refresh_shipped")
    doc = {"models": [
        {"name": "a", "shipped": True, "global_psnr": 1.0, "training": {"steps": 5}},
        {"name": "a-short", "shipped": False, "global_psnr": 2.0},
        {"name": "b", "shipped": True, "global_psnr": 3.0},
    ]}
    figures = {"a": {"global_psnr": 9.0, "mixed": {"global_psnr": 8.0}, "name": "a"},
               "a-short": {"global_psnr": 7.0}}
    assert rs.refresh(doc, figures, "today") == ["a"]
    a, short, b = doc["models"]
    assert a["global_psnr"] == 9.0 and a["mixed"] == {"global_psnr": 8.0}
    assert a["training"] == {"steps": 5} and a["measured_with"] == "today"
    assert short["global_psnr"] == 2.0 and "measured_with" not in short
    assert b == {"name": "b", "shipped": True, "global_psnr": 3.0}


def test_the_report_takes_its_data_folders_as_arguments(tmp_path: Path) -> None:
    """The cards count LOL's and the synthetic pairs from --lol / --synth (defaults from
    $LIMELIGHT_DATA / $LIMELIGHT_CACHE), not from folders relative to the working directory."""
    import shutil

    report = _script("ship_report")
    repo = SCRIPTS.parent
    docs, zoo = tmp_path / "docs", tmp_path / "zoo"
    docs.mkdir()
    shutil.copy(repo / "docs" / "results.json", docs)
    shutil.copytree(repo / "resources" / "zoo", zoo,
                    ignore=shutil.ignore_patterns("*.onnx"))
    shutil.copy(repo / "README.md", tmp_path / "README.md")
    lol, synth = tmp_path / "lol", tmp_path / "synth"
    (lol / "low").mkdir(parents=True)
    (synth / "low").mkdir(parents=True)
    for k in range(3):
        (lol / "low" / f"{k}.png").write_bytes(b"")
    for k in range(5):
        (synth / "low" / f"kodak_{k}_0.png").write_bytes(b"")
    assert report.main(["--docs", str(docs), "--zoo", str(zoo), "--readme",
                        str(tmp_path / "README.md"), "--lol", str(lol), "--synth",
                        str(synth)]) == 0
    card = (zoo / "fusion_net-ranlen.md").read_text(encoding="utf-8")
    assert "LOL our485, 3 real pairs, plus 5 synthetic pairs" in card, card


def test_the_report_finds_its_rows_by_the_configs_tags_not_by_run_names(tmp_path: Path) -> None:
    """[report] in a config says what the run is for; a run renamed keeps its place."""
    import pytest

    from limelight_models.config import ConfigError, config_from_dict

    report = _script("ship_report")

    def row(name: str, config: str, rough: float) -> dict:
        return {"name": name, "config": f"models/configs/{config}.toml", "b_roughness": rough,
                "global_psnr": 18.0, "global_ssim": 0.7, "area_a_psnr": 18.5,
                "exposure_fit_psnr": 20.0,
                "training": {"step": 100, "wall_time_s": 600.0, "beta": 1e-4}}

    doc = {"models": [row("renamed-reference", "fusion_net-ranlen", 0.0146),
                      row("renamed-off", "fusion_net-ranlen-nolb", 0.0133),
                      row("fusion_net-ranlen-nolb", "dln-ranlen", 0.5)]}  # a name alone: no
    table = report.ablation(doc)
    assert "| models/configs/fusion_net-ranlen-nolb.toml | no | 0.0133 |" in table
    assert "0.5000" not in table
    assert [r["name"] for r in report.in_group(doc, "lb-off")] == ["renamed-off"]
    assert report.in_group({"models": [row("x", "gone", 0.1)]}, "lb-off") == []
    base = {"name": "x", "backbone": "dln", "conversion": "ranlen"}
    assert config_from_dict(base).report.role == "shipped"
    with pytest.raises(ConfigError, match="report.role must be one of"):
        config_from_dict({**base, "report": {"role": "favourite"}})
