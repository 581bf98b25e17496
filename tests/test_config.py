from pathlib import Path

import pytest

from nnjournal import recipes
from nnjournal.config import RunConfig, apply_overrides, parse_override, read_toml, to_toml, validate_config
from nnjournal.errors import NNJError


def test_unknown_key_is_reported_with_its_dotted_path():
    with pytest.raises(NNJError, match=r"training\.optimizer\.learning_rate: unknown key"):
        validate_config({"training": {"optimizer": {"learning_rate": 0.1}}})


def test_unknown_key_inside_a_model_kind_omits_the_union_tag():
    with pytest.raises(NNJError, match=r"model\.hiden: unknown key"):
        validate_config({"model": {"name": "mlp", "hiden": [8]}})


def test_wrong_type_in_override_names_key_and_value():
    raw = apply_overrides({}, ["training.epochs=many"])
    with pytest.raises(NNJError, match=r"training\.epochs: .*integer.*'many'"):
        validate_config(raw)


@pytest.mark.parametrize(
    "override",
    ["training.optimizer.lr=nan", "training.weight_noise=inf", "training.clip.norm=nan", "training.penalty.l2=inf"],
)
def test_nan_and_inf_are_not_numbers_a_setting_takes(override: str):
    """`lr = nan` passed `gt=0` and diverged at the first step, after the run directory existed."""
    raw = apply_overrides(recipes.load_raw("digits-mlp"), [override])
    with pytest.raises(NNJError, match=rf"{override.split('=')[0]}: Input should be a finite number"):
        validate_config(raw)


def test_a_search_range_with_an_infinite_end_keeps_its_own_message():
    raw = recipes.load_raw("digits-mlp")
    raw["search"]["space"]["training.optimizer.lr"] = {"low": 1e-3, "high": float("inf"), "log": True}
    with pytest.raises(NNJError, match="low and high must be finite numbers"):
        validate_config(raw)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("training.lr=3e-4", (["training", "lr"], 3e-4)),
        ("model.hidden=[64, 32]", (["model", "hidden"], [64, 32])),
        ("model.norm=batch", (["model", "norm"], "batch")),
        (
            "training.early_stopping.restore_best=false",
            (["training", "early_stopping", "restore_best"], False),
        ),
    ],
)
def test_override_values_are_read_as_toml(text, expected):
    assert parse_override(text) == expected


def test_a_named_section_given_a_word_takes_it_as_its_name():
    """`--set training.optimizer=sgd` (as Keras writes optimizer="sgd") said "Input should be a
    valid dictionary or instance of OptimizerConfig"; a recipe file's `optimizer = "adamw"` too."""
    raw = recipes.load_raw("digits-mlp")
    cfg = validate_config(apply_overrides(raw, ["training.optimizer=sgd", "training.schedule=cosine"]))
    assert cfg.training.optimizer.name == "sgd" and cfg.training.schedule.name == "cosine"
    same = validate_config(apply_overrides(raw, ["training.optimizer.name=sgd", "training.schedule.name=cosine"]))
    assert cfg.training == same.training
    from_file = validate_config({"recipe": "x", "training": {"optimizer": "adamw", "schedule": "step"}})
    assert from_file.training.optimizer.name == "adamw" and from_file.training.optimizer.lr == 1e-3
    assert from_file.training.schedule.name == "step"
    with pytest.raises(NNJError, match=r"training.optimizer.name: Input should be 'sgd', .* got 'sgdd'"):
        validate_config(apply_overrides(raw, ["training.optimizer=sgdd"]))


def test_override_without_equals_sign_is_an_error():
    with pytest.raises(NNJError, match="expected KEY=VALUE"):
        parse_override("training.lr")


def test_switching_model_kind_drops_keys_of_the_old_kind():
    cfg = recipes.load("digits-mlp", ["model.name=perceptron"])
    assert cfg.model.name == "perceptron"


def test_variants_are_deep_merged_over_the_base():
    cfg = recipes.load("xor")
    variants = cfg.variant_configs()
    assert set(variants) == {"perceptron", "mlp"}
    assert variants["mlp"].model.hidden == [4]
    assert variants["perceptron"].training.epochs == cfg.training.epochs


def test_resolved_config_round_trips_through_toml(tmp_path: Path):
    for name in recipes.names():
        cfg = recipes.load(name)
        path = tmp_path / f"{name}.toml"
        path.write_text(to_toml(cfg.model_dump(mode="json")))
        assert validate_config(read_toml(path)) == cfg


def test_every_builtin_recipe_validates():
    assert {"xor", "digits-mlp", "mnist1d-mlp"} <= set(recipes.names())
    for name in recipes.names():
        assert isinstance(recipes.load(name), RunConfig)


def test_unknown_recipe_lists_the_available_ones():
    with pytest.raises(NNJError, match="unknown recipe 'nope'; built-in recipes: .*digits-mlp"):
        recipes.load("nope")


def test_nesterov_requires_sgd_with_momentum():
    with pytest.raises(NNJError, match="nesterov"):
        validate_config({"training": {"optimizer": {"name": "adam", "nesterov": True}}})


def test_a_recipe_saved_with_a_byte_order_mark_reads_as_without(tmp_path: Path):
    # Windows Notepad saves UTF-8 with a BOM; tomllib rejects it as "invalid statement".
    text = 'recipe = "mine"\n[data]\nname = "xor"\n[training]\nepochs = 3\n'
    plain, marked = tmp_path / "plain.toml", tmp_path / "marked.toml"
    plain.write_text(text, encoding="utf-8")
    marked.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    assert recipes.load(marked) == recipes.load(plain)
    assert recipes.load(marked).training.epochs == 3


@pytest.mark.parametrize(
    ("override", "said"),
    [("model.hidden=64", "model.hidden = [64]"), ("data.drop=Surname", 'data.drop = ["Surname"]')],
)
def test_a_single_value_for_a_list_setting_shows_the_list_to_write(override: str, said: str):
    raw = apply_overrides(recipes.load_raw("tabular"), [override])
    with pytest.raises(NNJError, match="Input should be a valid list") as err:
        validate_config(raw)
    assert f"write it as a list, {said}" in str(err.value)


def test_a_recipe_extends_a_built_in_or_another_file(tmp_path: Path):
    """`nnj show telco-churn > my.toml` copied every key to change one; `extends` keeps the
    user's recipe to what it changes, merged over the base as `--set` overrides are."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "mine.toml").write_text('extends = "telco-churn"\n[training]\nepochs = 3\n', encoding="utf-8")
    (tmp_path / "sub" / "smaller.toml").write_text('extends = "../mine.toml"\n[model]\nhidden = [8]\n', encoding="utf-8")
    cfg = recipes.load(tmp_path / "sub" / "smaller.toml")
    telco = recipes.load("telco-churn")
    assert cfg.recipe == "smaller" and cfg.training.epochs == 3 and cfg.model.hidden == [8]
    assert cfg.data == telco.data and cfg.training.optimizer == telco.training.optimizer
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n', encoding="utf-8")
    with pytest.raises(NNJError, match=r"a\.toml extends 'b\.toml': .*b\.toml extends 'a\.toml': a cycle"):
        recipes.load(tmp_path / "a.toml")
    for base, said in (("nope", "unknown recipe 'nope'"), ("gone.toml", "recipe file not found"), (5, "must name a recipe")):
        (tmp_path / "bad.toml").write_text(f"extends = {base!r}\n".replace("'", '"'), encoding="utf-8")
        with pytest.raises(NNJError, match=said):
            recipes.load(tmp_path / "bad.toml")
