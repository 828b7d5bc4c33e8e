"""The command line over robviz.scale, with tiny synthetic runs on the CPU.

Exact resume, evaluation JSON, tables, config files, run configurations.
"""

import json
import warnings
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from robviz.cli import main
from robviz.scale import TALK_TABLE

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "train",
    "--tiny",
    "--quiet",
    "--threads",
    "1",
    "--train-size",
    "64",
    "--batch-size",
    "16",
    "--test-size",
    "32",
]


def state(path):
    return torch.load(path, map_location="cpu", weights_only=True)


@pytest.mark.parametrize(
    "extra",
    [
        ["--objective", "sce"],
        ["--objective", "mmc", "--adversarial", "targeted", "--recipe", "paper"],
        ["--objective", "mmlda", "--recipe", "authors"],
        ["--objective", "sce", "--recipe", "mi-iat-authors"],
        ["--objective", "adp", "--recipe", "adp-at-authors"],
    ],
)
def test_resume_continues_exactly(tmp_path, extra):
    straight, split = tmp_path / "straight", tmp_path / "split"
    main(TINY + extra + ["--out", str(straight)])
    main(TINY + extra + ["--out", str(split), "--stop-after", "1"])
    first = json.loads((split / "results.json").read_text())
    assert first["epochs_done"] == 1 and not first["finished"]
    main(TINY + extra + ["--out", str(split), "--resume"])
    a, b = state(straight / "checkpoint.pt"), state(split / "checkpoint.pt")
    assert a["metadata"]["epoch"] == b["metadata"]["epoch"] == 2
    for key in a["state_dict"]:
        assert torch.equal(a["state_dict"][key], b["state_dict"][key]), key
    ra, rb = (json.loads((p / "results.json").read_text()) for p in (straight, split))
    assert [h["train_loss"] for h in ra["history"]] == [h["train_loss"] for h in rb["history"]]
    assert rb["finished"] and rb["test_accuracy"] == ra["test_accuracy"]


def test_config_file_and_flags(tmp_path):
    config = tmp_path / "run.json"
    config.write_text(
        json.dumps({"objective": "rce", "epochs": 1, "normalization": "group", "width": 2})
    )
    main(TINY + ["--config", str(config), "--out", str(tmp_path / "run"), "--epochs", "1"])
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["config"]["objective"] == "rce" and results["config"]["width"] == 2
    assert results["recipe"]["epochs"] == 1 and len(results["history"]) == 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"objectiv": "mmc"}))
    with pytest.raises(SystemExit, match="objectiv"):
        main(TINY + ["--config", str(bad)])


def test_evaluate_with_only_noise_and_rotation_gives_them_beside_the_clean_row(tmp_path):
    # "attacks is empty" from robust_accuracy, with a traceback, before
    run = tmp_path / "run"
    main(TINY + ["--out", str(run), "--epochs", "1"])
    common = ["evaluate", str(run / "checkpoint.pt"), "--n", "8", "--quiet", "--threads", "1"]
    main(common + ["--out", str(tmp_path / "e.json"), "--attacks", "noise", "rotation"])
    rows = json.loads((tmp_path / "e.json").read_text())["rows"]
    assert [(row["attack"], row["eps"]) for row in rows] == [
        ("clean", None),
        ("noise", 0.05),
        ("rotation", 30.0),
    ]
    main(common + ["--out", str(tmp_path / "p.json"), "--attacks", "pgd", "--pgd-steps", "10"])
    with_pgd = json.loads((tmp_path / "p.json").read_text())["rows"]
    assert with_pgd[0]["attack"] == "clean" and with_pgd[0]["accuracy"] == rows[0]["accuracy"]
    assert sum(row["attack"] == "clean" for row in with_pgd) == 1


def test_evaluate_records_and_warns_about_a_training_stopped_early(tmp_path):
    # before: the evaluation file did not say that the model had one epoch of two
    run, common = tmp_path / "run", ["--n", "8", "--quiet", "--threads", "1", "--attacks", "noise"]
    main(TINY + ["--out", str(run), "--epochs", "2", "--stop-after", "1"])
    with pytest.warns(UserWarning, match=r"after epoch 1 of 2: its training stopped early"):
        main(["evaluate", str(run / "checkpoint.pt"), "--out", str(tmp_path / "a.json"), *common])
    early = json.loads((tmp_path / "a.json").read_text())
    assert (early["epochs_done"], early["finished"]) == (1, False)
    main(TINY + ["--out", str(run), "--epochs", "2", "--resume"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        main(["evaluate", str(run / "checkpoint.pt"), "--out", str(tmp_path / "b.json"), *common])
    done = json.loads((tmp_path / "b.json").read_text())
    assert (done["epochs_done"], done["finished"]) == (2, True)


def test_evaluate_writes_json_and_table_renders(tmp_path):
    run = tmp_path / "run"
    main(TINY + ["--out", str(run), "--epochs", "1"])
    out = tmp_path / "eval.json"
    main(
        [
            "evaluate",
            str(run / "checkpoint.pt"),
            "--out",
            str(out),
            "--n",
            "8",
            "--quiet",
            "--threads",
            "1",
            "--attacks",
            "pgd",
            "cw",
            "spsa",
            "noise",
            "rotation",
            "--cw-steps",
            "3",
            "--cw-binary-steps",
            "1",
            "--spsa-steps",
            "1",
            "--spsa-samples",
            "4",
        ]
    )
    results = json.loads(out.read_text())
    attacks = {(row["attack"], row["eps"]) for row in results["rows"]}
    assert (
        ("clean", None) in attacks
        and ("PGD50-un", 16 / 255) in attacks
        and ("noise", 0.05) in attacks
    )
    assert {"C&W", "SPSA", "rotation", "PGD10-tar"} <= {a for a, _ in attacks}
    assert all(0 <= row["accuracy"] <= 1 for row in results["rows"]) and results["model"] == "sce"
    assert {row["model"] for row in results["rows"]} == {
        "sce"
    }  # C&W and SPSA rows are the same model's
    # the worst case per radius combines every attack with that radius (SPSA at 8/255 too, never
    # C&W)
    worst = {row["eps"]: row for row in results["rows"] if row["attack"] == "worst case"}
    assert set(worst) == {8 / 255, 16 / 255} and "robust" not in worst[8 / 255]
    # the per-image verdicts are a string of 0/1 characters in every row (the tensor is not JSON)
    assert all(len(row["verdicts"]) == results["n"] == 8 for row in results["rows"])
    assert results["images"]["stop"] == 8
    assert worst[8 / 255]["attacks"] == ["PGD10-tar", "PGD10-un", "PGD50-tar", "PGD50-un", "SPSA"]
    for eps, row in worst.items():
        assert row["accuracy"] <= min(
            r["accuracy"]
            for r in results["rows"]
            if r["eps"] == eps and r["attack"] in row["attacks"]
        )
    markdown, html = tmp_path / "table.md", tmp_path / "table.html"
    main(["table", str(out), "--out", str(markdown), "--html", str(html)])
    text = markdown.read_text()
    assert (
        "| sce |" in text and f"({TALK_TABLE['sce']['clean']})" in text and "PGD10-un 8/255" in text
    )
    assert html.stat().st_size > 1000


def test_python_dash_m_entry_point(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "robviz", "train", "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert (
        done.returncode == 0 and "--resume" in done.stdout and "--checkpoint-every" in done.stdout
    )


def test_recipes_follow_the_papers():
    from robviz.scale.recipes import get_recipe, lr_factor

    paper = get_recipe("paper", "mmc")
    assert (paper.optimizer, paper.lr, paper.momentum, paper.batch_size, paper.epochs) == (
        "sgd",
        0.01,
        0.9,
        50,
        200,
    )
    factors = [lr_factor(paper, epoch * 10, 10) for epoch in (0, 99, 100, 149, 150, 199)]
    assert factors == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])
    assert get_recipe("paper", "adp").optimizer == "adam"
    fast = get_recipe("fast", "sce", adversarial="targeted", epochs=10)
    assert (
        fast.batch_size > paper.batch_size
        and fast.adversarial == "targeted"
        and fast.at_steps == 10
    )
    assert lr_factor(fast, 0, 10) < lr_factor(fast, 15, 10) == pytest.approx(1.0)
    assert lr_factor(fast, 99, 10) < 0.02
    with pytest.raises(ValueError, match="adversarial"):
        get_recipe("paper", adversarial="both")


def test_at_recipe_is_the_paper_recipe_with_the_talks_pgd_10():
    from dataclasses import replace

    from robviz.scale.recipes import get_recipe

    for objective in ("sce", "mmc"):
        at, paper = get_recipe("paper-at", objective), get_recipe("paper", objective)
        assert (at.adversarial, at.at_eps, at.at_alpha, at.at_steps) == (
            "untargeted",
            8 / 255,
            2 / 255,
            10,
        )
        assert (at.at_weight, at.clean_weight, at.at_labels) == (1.0, 0.0, "true")  # Madry et al.
        assert replace(at, name="paper", adversarial=None, sources={}) == replace(paper, sources={})
        assert (at.passes, paper.passes) == (
            11,
            1,
        )  # ten PGD steps and the training step, per image
        assert "MMC paper" in at.sources["at_eps"] and "8/256" in at.sources["at_eps"]
    assert get_recipe("paper-at", "mmc", adversarial="targeted").adversarial == "targeted"
    assert get_recipe("mi-iat-authors", "sce").passes == 12  # with a clean term
    with pytest.raises(ValueError, match="adp-at-authors"):
        get_recipe("paper-at", "adp")


def test_at_checkpoints_land_in_the_talks_at_rows(tmp_path):
    """`robviz train --recipe paper-at`, `evaluate` and `table` give the talk's AT rows.

    Training is untargeted, or `--adversarial targeted`. Each AT checkpoint's row is named as the
    talk's (mmc-AT-un, sce-AT-tar) and shows the talk's numbers; the AT rows asked for with
    --talk-rows that no file measured show 'not run' beside the talk's numbers.
    """
    paths = []
    for objective, extra, label in (
        ("mmc", [], "mmc-AT-un"),
        ("sce", ["--adversarial", "targeted"], "sce-AT-tar"),
    ):
        run = tmp_path / label
        main(
            TINY
            + ["--objective", objective, "--recipe", "paper-at", "--epochs", "1", "--out", str(run)]
            + extra
        )
        recipe = state(run / "checkpoint.pt")["metadata"]["recipe"]
        assert recipe["name"] == "paper-at" and recipe["at_steps"] == 10
        paths.append(run / "evaluation.json")
        main(
            [
                "evaluate",
                str(run / "checkpoint.pt"),
                "--n",
                "8",
                "--quiet",
                "--threads",
                "1",
                "--attacks",
                "pgd",
                "--pgd-steps",
                "10",
            ]
        )
        assert json.loads(paths[-1].read_text())["model"] == label
    markdown = tmp_path / "table.md"
    main(
        [
            "table",
            *map(str, paths),
            "--out",
            str(markdown),
            "--quiet",
            "--talk-rows",
            "mmc-AT-tar",
            "sce-AT-un",
            "mmc-AT-un",
        ]
    )
    lines = {
        line.split(" | ")[0].strip("| "): line
        for line in markdown.read_text().splitlines()
        if "|" in line
    }
    header = [cell.strip() for cell in lines["model"].strip("| ").split(" | ")[1:]]
    talk_columns = [
        "clean",
        "PGD10-tar 8/255",
        "PGD10-un 8/255",
        "PGD10-tar 16/255",
        "PGD10-un 16/255",
    ]
    assert header == talk_columns + [
        "worst case 8/255",
        "worst case 16/255",
    ]  # the talk has no worst case
    for label in ("mmc-AT-un", "sce-AT-tar", "mmc-AT-tar", "sce-AT-un"):
        cells = [cell.strip() for cell in lines[label].strip("| ").split(" | ")[1:]][
            : len(talk_columns)
        ]
        talk = [TALK_TABLE[label][column] for column in talk_columns]
        assert [cell[cell.index("(") + 1 : -1] for cell in cells] == talk, (label, cells)
        measured = label in ("mmc-AT-un", "sce-AT-tar")
        assert all(cell.startswith("not run") != measured for cell in cells), (label, cells)
    assert list(lines).count("mmc-AT-un") == 1  # measured, so not added again
    with pytest.raises(SystemExit, match="talk_rows.*mmc-AT"):
        main(["table", str(paths[0]), "--talk-rows", "mmc-at-un"])


def test_evaluate_runs_only_the_requested_pgd_columns(tmp_path, capsys):
    run = tmp_path / "run"
    main(TINY + ["--out", str(run), "--epochs", "1"])
    out = tmp_path / "eval.json"
    main(
        [
            "evaluate",
            str(run / "checkpoint.pt"),
            "--out",
            str(out),
            "--n",
            "8",
            "--quiet",
            "--threads",
            "1",
            "--attacks",
            "pgd",
            "--pgd-steps",
            "10",
        ]
    )
    attacks = {row["attack"] for row in json.loads(out.read_text())["rows"]}
    assert attacks == {"clean", "PGD10-tar", "PGD10-un", "worst case"}
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", str(run / "checkpoint.pt"), "--pgd-steps", "20"])
    # argparse's usage error (2) on the value, not another exit
    assert exit_.value.code == 2
    assert "--pgd-steps: invalid choice: 20" in capsys.readouterr().err


def test_trains_on_mnist_in_cifar_format(tmp_path):
    results = main(
        [
            "train",
            "--dataset",
            "mnist32",
            "--arch",
            "resnet8",
            "--width",
            "4",
            "--epochs",
            "1",
            "--batch-size",
            "32",
            "--train-size",
            "64",
            "--test-size",
            "32",
            "--recipe",
            "fast",
            "--quiet",
            "--threads",
            "1",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    assert results == 0
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["config"]["dataset"] == "mnist32" and saved["finished"]


def test_as_command_round_trips_through_the_parser():
    from robviz.cli import build_parser, settings_of
    from robviz.scale import TrainRun, as_command

    settings = dict(
        dataset="mnist32",
        arch="resnet20",
        epochs=1,
        batch_size=32,
        augment=False,
        progress=False,
        compile=False,
        out="runs/x",
    )
    line = as_command("train", settings)
    assert line.startswith("robviz train ") and "--no-augment" in line and "--quiet" in line
    assert "--arch" not in line and "--compile" not in line  # defaults are left out
    parsed = vars(build_parser().parse_args(line.split()[1:]))
    assert settings_of(parsed.pop("command"), parsed) == TrainRun.from_dict(settings)
    evaluate = as_command("evaluate", dict(checkpoint="runs/x/checkpoint.pt", n=64, pgd_steps=[10]))
    assert evaluate == "robviz evaluate runs/x/checkpoint.pt --n 64 --pgd-steps 10"


@pytest.mark.parametrize(
    "run",
    [
        dict(
            command="train",
            objective="mmc",
            adversarial="targeted",
            factor=1.0,
            augment=True,
            resume=True,
            stop_after=3,
            lr=0.05,
            data_root="my data",
            progress=False,
            sync_bn=True,
        ),
        dict(command="train"),
        dict(
            command="evaluate",
            checkpoint="runs/a b/checkpoint.pt",
            attacks=["pgd", "noise"],
            pgd_steps=[50],
            name="mmc-AT-un",
            progress=False,
            cw_steps=3,
        ),
        dict(
            command="table",
            results=["a.json", "b.json"],
            out="t.md",
            html="t.html",
            progress=False,
            talk_rows=["mmc-AT-un", "sce-AT-tar"],
        ),
    ],
)
def test_every_run_configuration_round_trips_through_its_command(run):
    """run -> as_command() -> the parser -> the same run, for every field kind.

    Field kinds: choices, numbers, switches, --augment/--no-augment, --quiet, lists, positionals,
    values with spaces.
    """
    import shlex

    from robviz.cli import build_parser, settings_of
    from robviz.scale import RUNS

    command = run.pop("command")
    config = RUNS[command].from_dict(run)
    line = config.as_command()
    parsed = vars(build_parser().parse_args(shlex.split(line)[1:]))
    assert settings_of(parsed.pop("command"), parsed) == config, line


def test_unknown_settings_are_refused_with_a_suggestion(tmp_path):
    from robviz.scale import EvaluateRun, TrainRun, train

    with pytest.raises(
        ValueError, match=r"unknown setting 'epoch'; did you mean 'epochs'\?.*batch_size"
    ):
        TrainRun.from_dict(epoch=3)
    with pytest.raises(ValueError, match="unknown setting 'epoch'; did you mean 'epochs'"):
        train(
            dict(dataset="synthetic", epoch=3, out=str(tmp_path))
        )  # before any training, not 200 epochs
    assert not any(tmp_path.iterdir())
    with pytest.raises(ValueError, match="did you mean 'pgd_steps'"):
        EvaluateRun.from_dict(checkpoint="c.pt", pgd_step=[10])
    with pytest.raises(TypeError, match="unexpected keyword argument 'epoch'"):
        TrainRun(epoch=3)  # the dataclass itself refuses too
    with pytest.raises(ValueError, match=r"missing setting\(s\) 'checkpoint' of `robviz evaluate`"):
        EvaluateRun.from_dict(n=10)
    for bad, match in (
        (dict(epochs=0), "epochs must be an integer >= 1"),
        (dict(lr=-1.0), "lr must be"),
        (dict(arch="resnet9"), "unknown arch 'resnet9'"),
        (dict(epochs=3.0), "epochs"),
        (dict(objective="sce", factor=1.0), "mmlda and mmc only"),
        (dict(compile="yes"), "compile"),
    ):
        with pytest.raises(ValueError, match=match):
            TrainRun.from_dict(bad)
    with pytest.raises(ValueError, match="pgd_steps must be 10 and/or 50"):
        EvaluateRun(checkpoint="c.pt", pgd_steps=(20,))


def test_defaults_are_written_once_in_the_run_configurations():
    """The parser fills nothing in itself, so a bare command gives the dataclass defaults.

    Every flag is suppressed unless typed. The help shows the same defaults.
    """
    from dataclasses import MISSING, fields

    from robviz.cli import build_parser, settings_of
    from robviz.scale import RUNS, TrainRun

    parser = build_parser()
    for command, argv in (
        ("train", ["train"]),
        ("evaluate", ["evaluate", "c.pt"]),
        ("table", ["table", "a.json"]),
    ):
        parsed = vars(parser.parse_args(argv))
        assert settings_of(parsed.pop("command"), parsed) == RUNS[command].from_dict(
            {"evaluate": dict(checkpoint="c.pt"), "table": dict(results=["a.json"])}.get(
                command, {}
            )
        )
    assert (
        TrainRun().epochs is None and TrainRun().get_recipe().epochs == 200
    )  # None: the recipe decides
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    for command, cls in RUNS.items():
        actions = {a.dest: a for a in subparsers[command]._actions}
        for f in fields(cls):
            if f.default is MISSING and f.default_factory is MISSING:
                continue
            default = f.default_factory() if f.default_factory is not MISSING else f.default
            shown = list(default) if isinstance(default, tuple) else default
            help_text = actions[f.name].help
            assert (
                f"default: {shown}" in help_text
                or "None:" in help_text
                or "progress=False" in help_text
            ), (command, f.name, help_text)


SMALL = [
    "train",
    "--dataset",
    "synthetic",
    "--arch",
    "resnet8",
    "--width",
    "4",
    "--train-size",
    "64",
    "--test-size",
    "32",
    "--batch-size",
    "16",
    "--epochs",
    "1",
    "--quiet",
    "--threads",
    "1",
]


def test_authors_recipe_builds_the_authors_optimizer_schedule_and_loss_scale(tmp_path):
    """`robviz train --recipe authors --objective mmc` builds the MMC code's training.

    The MMC code's Keras SGD, decay on conv kernels, drops after epochs 100 and 150, factor 1; read
    back from the checkpoint.
    """
    from robviz.scale.recipes import Recipe, lr_factor
    from robviz.scale import TrainRun

    main(SMALL + ["--objective", "mmc", "--recipe", "authors", "--out", str(tmp_path / "run")])
    meta = state(tmp_path / "run" / "checkpoint.pt")["metadata"]
    recipe = meta["recipe"]
    assert (recipe["name"], recipe["factor"], recipe["rule"], recipe["optimizer"]) == (
        "mmc-authors",
        1.0,
        "keras",
        "sgd",
    )
    assert (recipe["lr"], recipe["momentum"], recipe["weight_decay"], recipe["decay_scope"]) == (
        0.01,
        0.9,
        2e-4,
        "conv",
    )
    assert (
        "train.py" in recipe["sources"]["milestones"]
        and "utils/model.py" in recipe["sources"]["decay_scope"]
    )
    schedule = Recipe(**{**recipe, "milestones": tuple(recipe["milestones"])})
    assert [schedule.lr * lr_factor(schedule, e, 1) for e in (100, 101, 150, 151)] == pytest.approx(
        [0.01, 0.001, 0.001, 0.0001]
    )
    model = TrainRun.from_dict(meta["config"]).build_model(10, recipe["factor"])
    assert model.objective.factor == 1.0
    shapes = [tuple(p.shape) for p in model.parameters()]
    kernels = [s for s in shapes if len(s) == 4]
    decayed, rest = meta["optimizer"][
        "param_groups"
    ]  # state_dict numbers the parameters group by group
    assert len(decayed["params"]) == len(kernels) and len(rest["params"]) == len(shapes) - len(
        kernels
    )
    assert [
        tuple(meta["optimizer"]["state"][i]["velocity"].shape) for i in decayed["params"]
    ] == kernels
    assert decayed["weight_decay"] == 2e-4 and rest["weight_decay"] == 0.0
    assert (decayed["lr"], decayed["momentum"]) == (0.01, 0.9)
    assert all(
        set(meta["optimizer"]["state"][i]) == {"velocity"} for i in decayed["params"]
    )  # Keras' velocity
    z, y = torch.randn(4, 256), torch.tensor([0, 1, 2, 3])
    expected = (z - model.objective.centers[y]).pow(2).sum(1).mean()
    assert torch.allclose(model.objective.loss(z, model.objective(z), y), expected)


def test_total_steps_ends_training_within_an_epoch(tmp_path):
    """rce-authors counts its training in steps (90000): the last epoch stops at total_steps."""
    from robviz.scale.recipes import get_recipe

    assert (
        get_recipe("rce-authors", "rce").epochs,
        get_recipe("rce-authors", "rce").total_steps,
    ) == (231, 90000)
    # 64 images at batch 16: 4 steps an epoch; 10 steps are 2 whole epochs and 2 steps of a third.
    main(
        SMALL
        + [
            "--objective",
            "rce",
            "--recipe",
            "rce-authors",
            "--epochs",
            "5",
            "--total-steps",
            "10",
            "--out",
            str(tmp_path / "run"),
        ]
    )  # the last --epochs wins
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["epochs_done"] == 3 and saved["finished"] and saved["recipe"]["total_steps"] == 10
    steps = state(tmp_path / "run" / "checkpoint.pt")["metadata"]["scheduler"]["last_epoch"]
    assert steps == 10  # LambdaLR counts the optimizer steps taken
    with pytest.raises(SystemExit, match="total_steps"):
        main(SMALL + ["--total-steps", "0"])


def test_factor_flag_and_recipe_errors(tmp_path):
    from robviz.scale.recipes import get_recipe

    main(
        SMALL
        + [
            "--objective",
            "mmlda",
            "--recipe",
            "paper",
            "--factor",
            "1",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["recipe"]["factor"] == 1.0 and saved["recipe"]["sources"]["factor"].startswith(
        "set by"
    )
    assert get_recipe("paper", "mmc").factor == 0.5 and get_recipe("paper", "sce").factor is None
    with pytest.raises(SystemExit, match="mmlda and mmc only"):
        main(SMALL + ["--objective", "sce", "--factor", "1"])
    with pytest.raises(SystemExit, match="adp-authors' is for the objective adp"):
        main(SMALL + ["--objective", "mmc", "--recipe", "adp-authors"])
    with pytest.raises(SystemExit, match="mi-authors' is for the objective sce"):
        main(SMALL + ["--objective", "mmc", "--recipe", "mi-authors"])
    for bad, message in (
        (dict(at_weight=0.0, clean_weight=0.0), "both 0"),
        (dict(mixup=0.0), "mixup"),
        (dict(at_eps=0.05, at_eps_max=0.01), "at_eps_max"),
        (dict(at_labels="soft"), "at_labels"),
        (dict(at_forward="both"), "at_forward"),
    ):
        with pytest.raises(ValueError, match=message):
            get_recipe("paper", "sce", **bad)
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"recipe": "papers"}))
    with pytest.raises(SystemExit, match="valid names: paper, fast, authors, mmc-authors"):
        main(SMALL + ["--config", str(config)])


def test_every_recipe_says_where_its_numbers_come_from():
    from robviz.scale.recipes import RECIPES, get_recipe

    described = set()
    for name in RECIPES:
        for objective in ("mmc", "sce", "rce", "adp"):
            try:
                recipe = get_recipe(name, objective)
            except ValueError as error:
                # only a recipe made for other objectives may be skipped
                assert re.match(
                    rf"recipe '{name}' (is for the objective|trains single)", str(error)
                )
                continue
            text = recipe.describe()
            for key in ("epochs", "batch_size", "lr", "weight_decay"):
                assert key in recipe.sources, (name, objective, key)
            assert text.count("\n") >= 8 and recipe.name in text
            described.add(name)
    assert described == set(RECIPES)  # every recipe was read for at least one objective
    adp = get_recipe("authors", "adp")
    assert (adp.epochs, adp.batch_size, adp.milestones, adp.decay_scope, adp.rule) == (
        200,
        64,
        (101, 151),
        "conv",
        "keras",
    )
    assert get_recipe("paper", "adp").epochs == 180


def test_renamed_settings_still_read_with_a_warning():
    """`norm` (the ResNet's normalization layer) is `normalization` now.

    See docs/design.md, Vocabulary. Old config files, checkpoints and the `--norm` flag keep working
    for a release.
    """
    from robviz.cli import build_parser, settings_of
    from robviz.scale.resnet import make_cifar_model
    from robviz.scale import TrainRun

    with pytest.warns(
        DeprecationWarning, match="setting 'norm' is deprecated: use 'normalization'"
    ):
        assert TrainRun.from_dict({"norm": "group"}).normalization == "group"
    with pytest.raises(ValueError, match="old name of 'normalization'"):
        TrainRun.from_dict({"norm": "group", "normalization": "batch"})
    args = vars(build_parser().parse_args(["train", "--norm", "none"]))
    args.pop("command")
    assert settings_of("train", args).normalization == "none"
    assert "--normalization group" in TrainRun(normalization="group").as_command()
    with pytest.warns(DeprecationWarning, match=r"make_cifar_model\(norm=...\)"):
        model = make_cifar_model("resnet8", width=2, norm="group")
    assert any(isinstance(m, torch.nn.GroupNorm) for m in model.modules())


def test_missing_folders_and_unreadable_config_files_are_one_line(tmp_path):
    missing = str(tmp_path / "no-such-folder")
    with pytest.raises(SystemExit, match=r"^robviz: .*no-such-folder"):
        main(["student", "--lessons", missing, "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit, match=r"^robviz: .*no-such-folder"):
        main(["gallery", "--lessons", missing, "--out", str(tmp_path / "site")])
    broken = tmp_path / "broken.json"
    broken.write_text("{epochs: 3")
    for path in (broken, tmp_path / "absent.json"):
        with pytest.raises(SystemExit, match=r"^robviz: cannot read the config file"):
            main(["train", "--config", str(path)])


def test_settings_that_would_be_ignored_are_refused():
    from robviz.scale.distributed import LossModule
    from robviz.scale.resnet import make_cifar_model

    with pytest.raises(ValueError, match="feature_dim=64 does not apply to the ensemble objective"):
        make_cifar_model("resnet8", objective="adp", feature_dim=64, width=2)
    model = make_cifar_model("resnet8", width=2)
    x, y = torch.rand(4, 3, 8, 8), torch.tensor([0, 1, 2, 3])
    with pytest.raises(ValueError, match="y_b and lam go together"):
        LossModule(model)(x, y, y_b=y)


def test_pgd_auto_attacks_mmc_on_the_margin_and_joins_the_worst_case(tmp_path):
    """`--attacks pgd-auto`: untargeted PGD on `auto_objective` (the margin for MMC).

    Its rows are what PGD on the margin gives by hand, not what the papers' MMC loss gives, and
    the worst case at each radius counts it.
    """
    from robviz.attacks import PGD, margin_objective, paper_objective, robust_accuracy
    from robviz.scale import evaluate
    from robviz.scale.cifar import to_float
    from robviz.scale.data import load_data
    from robviz.scale.evaluate import load_trained

    run = tmp_path / "mmc"
    main(TINY + ["--objective", "mmc", "--epochs", "1", "--out", str(run)])
    results = evaluate(
        dict(
            checkpoint=str(run / "checkpoint.pt"),
            n=16,
            attacks=["pgd", "pgd-auto"],
            pgd_steps=[10],
            threads=1,
            progress=False,
        )
    )
    rows = {(row["attack"], row["eps"]): row for row in results["rows"]}
    eps_list = (8 / 255, 16 / 255)
    assert {a for a, _ in rows} == {"clean", "PGD10-tar", "PGD10-un", "PGD10-un-auto", "worst case"}
    for eps in eps_list:
        assert "PGD10-un-auto" in rows[("worst case", eps)]["attacks"]
    model, trained, _ = load_trained(run / "checkpoint.pt")
    data = load_data(trained.dataset, data_root=trained.data_root, train_size=trained.train_size)
    x, y = to_float(data.x_test[:16]), data.y_test[:16]
    by_hand = {}
    for label, loss in (("margin", margin_objective), ("paper", paper_objective(model))):
        attack = PGD(model, eps=8 / 255, alpha=2 / 255, steps=10, random_start=True, loss=loss)
        table = robust_accuracy(
            model, x, y, {label: attack}, eps_list=eps_list, name="mmc", progress=False
        )
        by_hand[label] = {row["eps"]: row["accuracy"] for row in table.rows if row["eps"]}
    for eps in eps_list:
        assert rows[("PGD10-un-auto", eps)]["accuracy"] == pytest.approx(by_hand["margin"][eps])
        assert rows[("PGD10-un", eps)]["accuracy"] == pytest.approx(by_hand["paper"][eps])
    # the two objectives part on this model, so the comparisons above tell them apart
    assert by_hand["margin"] != by_hand["paper"]


def test_the_heatmap_says_not_run_where_the_table_does(tmp_path):
    """A talk row no file measured reads "not run (talk ...)" in the figure as in the markdown."""
    from robviz.scale import measured_vs_talk
    from robviz.viz import robustness_heatmap

    run = tmp_path / "sce"
    main(TINY + ["--epochs", "1", "--out", str(run)])
    main(
        ["evaluate", str(run / "checkpoint.pt"), "--n", "8", "--quiet", "--threads", "1"]
        + ["--attacks", "pgd", "--pgd-steps", "10", "--threads", "1"]
    )
    models, columns, values, talk = measured_vs_talk(
        [run / "evaluation.json"], talk_rows=["mmc-AT-un"]
    )
    text = robustness_heatmap(models, columns, values, reference=talk).data[0].text
    measured, missing = (text[models.index(m)] for m in ("sce", "mmc-AT-un"))
    clean = columns.index("clean")
    assert missing[clean] == f"not run<br>(talk {TALK_TABLE['mmc-AT-un']['clean']})"
    assert all(cell.startswith("not run") for cell in missing)
    assert not any("nan" in cell or "not run" in cell for cell in measured), measured


def test_each_run_command_names_the_files_it_wrote(tmp_path, capsys, monkeypatch):
    """train, evaluate and table end with one ``robviz: wrote`` line naming files that exist.

    ``--quiet`` silences it; under torchrun only rank 0, which writes the files, says so.
    """
    monkeypatch.chdir(tmp_path)
    loud = [a for a in TINY if a != "--quiet"]
    main([*loud, "--epochs", "1", "--out", "run"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"robviz: wrote {Path('run', 'checkpoint.pt')} and {Path('run', 'results.json')}"
    evaluate = [
        "evaluate",
        "run/checkpoint.pt",
        "--n",
        "4",
        "--attacks",
        "pgd",
        "--pgd-steps",
        "10",
        "--threads",
        "1",
    ]
    main(evaluate)  # no --out: evaluation.json next to the checkpoint
    assert capsys.readouterr().out.strip().splitlines()[-1] == "robviz: wrote run/evaluation.json"
    assert (tmp_path / "run" / "evaluation.json").exists()
    main(["table", "run/evaluation.json", "--out", "t.md", "--html", "t.html"])
    assert capsys.readouterr().out.strip().splitlines()[-1] == "robviz: wrote t.md and t.html"
    assert (tmp_path / "t.md").exists() and (tmp_path / "t.html").exists()
    main(["table", "run/evaluation.json"])  # printed only: nothing written, nothing claimed
    assert "robviz: wrote" not in capsys.readouterr().out
    import robviz.cli

    with monkeypatch.context() as patch:  # torchrun's rank 1: the files are rank 0's
        patch.setenv("RANK", "1")
        patch.setattr(robviz.cli.scale, "train", lambda run: {"checkpoint": "elsewhere"})
        main([*loud, "--epochs", "1", "--out", "run2"])
        assert "robviz: wrote" not in capsys.readouterr().out
    main([*TINY, "--epochs", "1", "--out", "run3"])
    main([*evaluate, "--quiet"])
    main(["table", "run/evaluation.json", "--out", "t.md", "--quiet"])
    assert "robviz: wrote" not in capsys.readouterr().out


def test_the_top_level_help_names_every_command():
    from robviz.cli import COMMANDS, build_parser

    description = build_parser().description
    assert all(re.search(rf"\b{name}\b", description) for name in COMMANDS), description


def test_offline_cifar_is_the_download_message_without_a_traceback(tmp_path, monkeypatch):
    """No CIFAR archive and no network: the command ends with how to fetch it, as SystemExit."""
    from urllib.error import URLError

    from robviz.scale import cifar

    def offline(*args, **kwargs):
        raise URLError("no route to host")

    monkeypatch.setattr(cifar, "urlopen", offline)
    with pytest.raises(SystemExit) as refused:
        main(["train", "--dataset", "cifar10", "--data-root", str(tmp_path / "data"), "--quiet"])
    message = str(refused.value)
    assert message.startswith("robviz: could not download ") and "curl -L -o" in message
    assert str(tmp_path / "data" / "cifar-10-python.tar.gz") in message


def test_evaluate_refuses_more_images_than_the_test_set_has(tmp_path):
    # Before: --n 100000 silently measured the 256 synthetic test images.
    run = tmp_path / "run"
    main(TINY + ["--out", str(run), "--epochs", "1"])
    args = ["evaluate", str(run / "checkpoint.pt"), "--quiet", "--threads", "1"]
    with pytest.raises(SystemExit, match="n = 100000 is more than the 256 test images"):
        main(args + ["--n", "100000", "--attacks", "noise"])
    main(args + ["--n", "256", "--attacks", "noise", "--out", str(tmp_path / "e.json")])
    assert json.loads((tmp_path / "e.json").read_text())["n"] == 256


def test_table_refuses_one_file_twice_and_evaluate_reads_one_attack_name(tmp_path):
    # Before: one file twice gave its model two rows, "sce" and "sce #2".
    from robviz.scale import EvaluateRun, TableRun

    path = tmp_path / "e.json"
    with pytest.raises(ValueError, match="more than once"):
        TableRun(results=(str(path), str(tmp_path / "." / "e.json")))
    # before: "unknown attacks ['d', 'g', 'p']", the letters of "pgd"
    run = EvaluateRun.from_dict(dict(checkpoint="c.pt", attacks="pgd", pgd_steps=10))
    assert run.attacks == ("pgd",) and run.pgd_steps == (10,)
    assert EvaluateRun(checkpoint="c.pt", attacks=("cw", "cw", "pgd")).attacks == ("cw", "pgd")
