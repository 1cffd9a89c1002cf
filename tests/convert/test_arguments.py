"""v1 argument tokens as a v2 command line: references rewritten, quoted for bash, split back."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate_kit.convert.arguments import (
    References,
    command_line,
    join_command,
    placeholder,
    rewrite_arguments,
    split_command,
)
from migrate_kit.v1.models import Argument, ArgumentKind, Step
from migrate_kit.v1.parse import parse_graph

ROOT = Path(__file__).resolve().parents[2]


def examples(count: int) -> settings:
    """Hypothesis settings for ``count`` examples, without a deadline: timing is not under test."""
    return settings(max_examples=count, deadline=None)


LIT, INP, OUT, PAR = (
    ArgumentKind.LITERAL,
    ArgumentKind.INPUT,
    ArgumentKind.OUTPUT,
    ArgumentKind.PARAMETER,
)
_IO_NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
PLACEHOLDER = re.compile(r"\$\{\{(inputs|outputs)\.(" + _IO_NAME + r")\}\}")

# --- strategies ------------------------------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)
text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
# Text rich in what the shell and Azure ML care about, so short examples hit the hard cases.
shell_text = st.lists(
    st.sampled_from([*" \t\n'\"\\$`*?[]{}()<>|&;#~!=%,:-_.aZ9é", "${{", "$[[", "]]"]),
    max_size=8,
).map("".join)
placeholders = st.builds(placeholder, st.sampled_from(["inputs", "outputs"]), names)
plain_tokens = st.lists(st.lists(st.one_of(text, shell_text), max_size=3).map("".join), max_size=6)
tokens = st.lists(
    st.lists(st.one_of(text, shell_text, placeholders), max_size=3).map("".join), max_size=6
)


def run_shell(shell: str, command: str) -> list[str]:
    """The arguments ``shell`` passes on for ``command`` (each printed NUL-terminated)."""
    script = f'set -- {command}\nprintf \'%s\\0\' "$#" "$@"'
    done = subprocess.run([shell, "-c", script], capture_output=True, check=True, timeout=60)
    count, *args = done.stdout.decode("utf-8").split("\x00")[:-1]
    assert int(count) == len(args)
    return args


def substitute(command: str, values: Mapping[str, str]) -> str:
    """What Azure ML does before bash runs: every placeholder replaced by its value, as text."""
    return PLACEHOLDER.sub(lambda m: values[m.group()], command)


# --- join_command / split_command ------------------------------------------------------------


@given(tokens)
@examples(300)
def test_split_undoes_join(t: list[str]) -> None:
    assert split_command(join_command(t)) == t


@given(plain_tokens)
@examples(60)
def test_bash_receives_exactly_the_tokens(t: list[str]) -> None:
    assert run_shell("bash", join_command(t)) == t


@given(plain_tokens)
@examples(30)
def test_posix_sh_receives_exactly_the_tokens(t: list[str]) -> None:
    assert run_shell("sh", join_command(t)) == t


@given(tokens, st.data())
@examples(40)
def test_placeholders_stay_usable_after_azure_ml_replaces_them(
    t: list[str], data: st.DataObject
) -> None:
    command = join_command(t)
    found = sorted({m.group() for token in t for m in PLACEHOLDER.finditer(token)})
    # Values as Azure ML inserts them: paths and plain strings, spaces and empty ones included.
    value = st.text(st.sampled_from(list("ab/._- é*?'")), max_size=10)
    values = {p: data.draw(value, label=p) for p in found}

    expected = [substitute(token, values) for token in t]
    assert run_shell("bash", substitute(command, values)) == expected


def test_only_the_placeholders_remain_for_azure_ml_to_replace() -> None:
    command = join_command(["a${{b}}", "$[[--x]]", "${{ inputs.a }}", "--x=${{inputs.a}}"])
    assert "${{" not in command.replace('"${{inputs.a}}"', "")
    assert "$[[" not in command


@pytest.mark.parametrize(
    ("token", "written"),
    [
        ("--lr", "--lr"),
        ("0.01", "0.01"),
        ("key=value,x:y@z%", "key=value,x:y@z%"),
        ("", "''"),
        ("two words", "'two words'"),
        ("it's", "'it'\"'\"'s'"),
        ("$HOME", "'$HOME'"),
        ("*.csv", "'*.csv'"),
        ("~/data", "'~/data'"),
        ("a;b", "'a;b'"),
        ("${{inputs.a}}", '"${{inputs.a}}"'),
        ("--x=${{inputs.a}}", '--x="${{inputs.a}}"'),
        ("${{inputs.a}}/${{outputs.b}}", '"${{inputs.a}}"/"${{outputs.b}}"'),
        ("$${{inputs.a}}", "'$'\"${{inputs.a}}\""),
        ("a${{b}}", "'a$''{{b}}'"),
        ("$[[x]]", "'$''[[x]]'"),
    ],
)
def test_how_each_token_is_written(token: str, written: str) -> None:
    assert join_command(["python", token]) == f"python {written}"


@pytest.mark.parametrize("first", ["if", "done", "A=1", "PATH+=x"])
def test_a_first_token_bash_would_not_run_is_quoted(first: str) -> None:
    assert join_command([first, "x"]) == f"'{first}' x"
    assert join_command(["x", first]) == f"x {first}"


def test_tokens_no_command_line_can_carry_are_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        join_command(["a\x00b"])
    with pytest.raises(TypeError):
        join_command("python x.py")


def test_placeholder_refuses_names_azure_ml_would_not_replace() -> None:
    assert placeholder("inputs", "a.b_1") == "${{inputs.a.b_1}}"
    for bad in ["", "1a", "a-b", "a b", "a}}"]:
        with pytest.raises(ValueError, match="not a valid v2 input name"):
            placeholder("inputs", bad)


# --- rewrite_arguments: properties -----------------------------------------------------------

kinds = st.sampled_from([LIT, INP, OUT, PAR])
arguments = st.lists(st.builds(Argument, kinds, st.one_of(names, text, shell_text)), max_size=8)
references = st.builds(
    References,
    inputs=st.dictionaries(names, names, max_size=4),
    outputs=st.dictionaries(names, names, max_size=4),
    parameters=st.dictionaries(names, names, max_size=4),
)


@given(arguments, references)
@examples(200)
def test_rewriting_keeps_order_and_count_and_never_raises(
    args: list[Argument], refs: References
) -> None:
    result = rewrite_arguments(args, refs)
    assert len(result.tokens) == len(args)

    for arg, token in zip(args, result.tokens, strict=True):
        mapping = {INP: refs.inputs, OUT: refs.outputs, PAR: refs.parameters}.get(arg.kind)
        if mapping is not None:
            kind = "outputs" if arg.kind is OUT else "inputs"
            wanted = placeholder(kind, mapping[arg.value]) if arg.value in mapping else arg.value
            assert token == wanted
        elif "$" not in arg.value and "Config:" not in arg.value:
            assert token == arg.value


@given(arguments, references)
@examples(200)
def test_the_names_used_are_the_placeholders_in_order_of_first_use(
    args: list[Argument], refs: References
) -> None:
    result = rewrite_arguments(args, refs)
    seen: dict[str, list[str]] = {"inputs": [], "outputs": []}
    for arg, token in zip(args, result.tokens, strict=True):
        if token == arg.value:
            continue  # kept as it was (a literal, or an unknown name)
        for match in PLACEHOLDER.finditer(token):
            if match.group(2) not in seen[match.group(1)]:
                seen[match.group(1)].append(match.group(2))
    assert list(result.inputs_used) == seen["inputs"]
    assert list(result.outputs_used) == seen["outputs"]


@given(st.lists(st.builds(Argument, st.sampled_from([INP, OUT, PAR]), text), max_size=6))
@examples(100)
def test_unknown_names_give_a_problem_each_and_the_token_is_kept(args: list[Argument]) -> None:
    result = rewrite_arguments(args, References())
    assert result.tokens == tuple(a.value for a in args)
    assert result.inputs_used == result.outputs_used == ()
    assert len(result.problems) == len(args)
    for n, (arg, problem) in enumerate(zip(args, result.problems, strict=True), 1):
        assert problem.startswith(f"Argument {n} ({arg.kind.value} {arg.value!r})")
        assert "has no v2" in problem


@given(names, names)
@examples(50)
def test_legacy_and_structured_forms_give_the_same_placeholders(v1: str, v2: str) -> None:
    def rewrite(*args: Argument, refs: References) -> tuple[tuple[str, ...], ...]:
        r = rewrite_arguments(args, refs)
        assert r.problems == ()
        return (r.tokens, r.inputs_used, r.outputs_used)

    as_parameter = References(parameters={v1: v2})
    as_input = References(inputs={v1: v2})
    as_output = References(outputs={v1: v2})
    parameter = rewrite(Argument(PAR, v1), refs=as_parameter)
    assert parameter == ((f"${{{{inputs.{v2}}}}}",), (v2,), ())
    assert rewrite(Argument(LIT, f"$AML_PARAMETER_{v1}"), refs=as_parameter) == parameter

    port = rewrite(Argument(INP, v1), refs=as_input)
    assert port == ((f"${{{{inputs.{v2}}}}}",), (v2,), ())
    assert rewrite(Argument(LIT, f"$AZUREML_DATAREFERENCE_{v1}"), refs=as_input) == port
    assert rewrite(Argument(LIT, f"DatasetConsumptionConfig:{v1}"), refs=as_input) == port

    out = rewrite(Argument(OUT, v1), refs=as_output)
    assert out == ((f"${{{{outputs.{v2}}}}}",), (), (v2,))
    assert rewrite(Argument(LIT, f"$AZUREML_DATAREFERENCE_{v1}"), refs=as_output) == out
    assert rewrite(Argument(LIT, f"DatasetOutputConfig:{v1}"), refs=as_output) == out


# --- rewrite_arguments: the sample's real tokens ---------------------------------------------

SAMPLE_REFS = References(
    inputs={"sales_raw": "sales_raw", "prices_raw": "prices", "clean_sales": "clean_sales"},
    outputs={"elasticity_report": "report", "store_files": "store_files"},
    parameters={"region": "region", "min_weeks": "min_weeks", "since": "since"},
)


def test_the_elasticity_step_with_dataset_and_legacy_parameter_tokens() -> None:
    # As published from data/v1_project/publish_pipelines.py (estimate_elasticity).
    args = [
        Argument(LIT, "--sales_dir"),
        Argument(LIT, "DatasetConsumptionConfig:clean_sales"),
        Argument(LIT, "--prices_dir"),
        Argument(INP, "prices_raw"),
        Argument(LIT, "--region"),
        Argument(LIT, "$AML_PARAMETER_region"),
        Argument(LIT, "--min_weeks"),
        Argument(PAR, "min_weeks"),
        Argument(LIT, "--output_dir"),
        Argument(LIT, "DatasetOutputConfig:elasticity_report"),
    ]
    command, result = command_line(["python", "elasticity.py"], args, SAMPLE_REFS)
    assert result.tokens == (
        "--sales_dir",
        "${{inputs.clean_sales}}",
        "--prices_dir",
        "${{inputs.prices}}",
        "--region",
        "${{inputs.region}}",
        "--min_weeks",
        "${{inputs.min_weeks}}",
        "--output_dir",
        "${{outputs.report}}",
    )
    assert result.inputs_used == ("clean_sales", "prices", "region", "min_weeks")
    assert result.outputs_used == ("report",)
    assert result.problems == ()
    assert command == (
        'python elasticity.py --sales_dir "${{inputs.clean_sales}}" --prices_dir '
        '"${{inputs.prices}}" --region "${{inputs.region}}" --min_weeks "${{inputs.min_weeks}}" '
        '--output_dir "${{outputs.report}}"'
    )


def test_a_legacy_data_reference_naming_an_output_and_a_parameter_inside_a_token() -> None:
    args = [
        Argument(LIT, "--sales_dir"),
        Argument(INP, "sales_raw"),
        Argument(LIT, "--since=$AML_PARAMETER_since"),
        Argument(LIT, "--output_dir"),
        Argument(LIT, "$AZUREML_DATAREFERENCE_store_files"),
        Argument(LIT, "$AZUREML_DATAREFERENCE_sales_raw/2024"),
    ]
    command, result = command_line(["python", "split_by_store.py"], args, SAMPLE_REFS)
    assert result.tokens[2] == "--since=${{inputs.since}}"
    assert result.tokens[4] == "${{outputs.store_files}}"
    assert result.tokens[5] == "${{inputs.sales_raw}}/2024"
    assert result.inputs_used == ("sales_raw", "since")
    assert result.problems == ()
    assert '--since="${{inputs.since}}"' in command
    assert split_command(command) == ["python", "split_by_store.py", *result.tokens]


@pytest.mark.parametrize(
    ("token", "missing"),
    [
        ("$AML_PARAMETER_regoin", "pipeline parameter 'regoin'"),
        ("--region=$AML_PARAMETER_region_x", "pipeline parameter 'region_x'"),
        ("$AZUREML_DATAREFERENCE_nowhere", "data reference 'nowhere'"),
        ("DatasetConsumptionConfig:raw", "dataset input 'raw'"),
        ("DatasetOutputConfig:scores", "dataset output 'scores'"),
        ("$AML_PARAMETER_", "pipeline parameter ''"),
    ],
)
def test_an_unknown_name_in_literal_text_keeps_the_whole_token(token: str, missing: str) -> None:
    known = Argument(LIT, f"{token}:$AML_PARAMETER_region")  # the known half is not converted
    result = rewrite_arguments([Argument(LIT, "--x"), Argument(LIT, token), known], SAMPLE_REFS)
    assert result.tokens == ("--x", token, known.value)
    assert result.inputs_used == ()
    assert result.problems[0].startswith(f"Argument 2 ({token!r}) refers to {missing}")
    assert result.problems[1].startswith(f"Argument 3 ({known.value!r})")


def test_text_azure_ml_would_treat_as_a_placeholder_is_reported() -> None:
    result = rewrite_arguments([Argument(LIT, "--name=${{inputs.region}}")], SAMPLE_REFS)
    assert result.tokens == ("--name=${{inputs.region}}",)
    assert "'${{inputs.region}}', which Azure ML replaces" in result.problems[0]


def test_a_dataset_token_inside_other_text_is_reported_and_kept() -> None:
    token = "--in=DatasetConsumptionConfig:clean_sales"
    result = rewrite_arguments([Argument(LIT, token)], SAMPLE_REFS)
    assert result.tokens == (token,)
    assert "inside other text" in result.problems[0]


def test_a_data_reference_that_is_both_an_input_and_an_output_is_taken_as_the_input() -> None:
    refs = References(inputs={"data": "data_in"}, outputs={"data": "data_out"})
    result = rewrite_arguments([Argument(LIT, "$AZUREML_DATAREFERENCE_data")], refs)
    assert result.tokens == ("${{inputs.data_in}}",)
    assert "both an input and an output" in result.problems[0]


def _captured_steps() -> list[tuple[str, Step]]:
    """Every step of every graph in the sample capture, read by the kit's own v1 parser."""
    state = json.loads((ROOT / "data" / "capture" / "state.json").read_text())["entities"]
    modules = {m["key"]: m["body"] for m in state["pipelines.module"]}
    interfaces = {i["key"]: i["body"] for i in state["pipelines.graph_interface"]}
    steps = []
    for graph in state["pipelines.graph"]:
        parsed = parse_graph(graph["body"], interfaces.get(graph["key"]), modules, {})
        steps += [(f"{graph['key'][:8]}/{step.name}", step) for step in parsed.steps]
    return steps


def test_every_captured_step_converts_without_problems_and_bash_gets_its_tokens() -> None:
    steps = _captured_steps()
    assert len(steps) >= 15
    converted = []
    for label, step in steps:
        refs = References(
            inputs={p.name: p.name for p in step.inputs},
            outputs={p.name: p.name for p in step.outputs},
            parameters={n: n for n in step.parameter_bindings},
        )
        command, result = command_line(["python", "x.py"], step.arguments, refs)
        assert result.problems == (), label
        assert len(result.tokens) == len(step.arguments), label
        assert split_command(command) == ["python", "x.py", *result.tokens], label
        # What Azure ML runs: each placeholder replaced by a path (with a space, to be sure).
        values = {m.group(): f"/mnt/{m.group(2)} dir" for m in PLACEHOLDER.finditer(command)}
        wanted = tuple(substitute(token, values) for token in result.tokens)
        converted.append((substitute(command, values).removeprefix("python x.py"), wanted))

    # One shell for all steps: per command, the number of arguments and then each of them.
    script = "\n".join(f'set -- {args}; printf \'%s\\0\' "$#" "$@"' for args, _ in converted)
    done = subprocess.run(["bash", "-c", script], capture_output=True, check=True, timeout=60)
    fields = done.stdout.decode("utf-8").split("\x00")
    for _, wanted in converted:
        count = int(fields.pop(0))
        assert tuple(fields[:count]) == wanted
        del fields[:count]
    assert fields == [""]
