"""A v1 step's argument tokens as the ``command`` string of a v2 component.

v1 starts a step's program from a list of arguments, without a shell: each token reaches the
program exactly as written. v2 keeps one ``command`` string per component. When a job starts,
Azure ML first replaces every ``${{inputs.x}}`` and ``${{outputs.y}}`` in it, as plain text and
without any quoting (a data input by the path it is mounted or downloaded at, a literal input by
its value, an output by the folder to write), and then bash runs the result. So each v1 token must
be written so that bash hands it over as one argument, unchanged, in its place.

What bash sees, token by token (``join_command``):

- a token made only of ``A-Z a-z 0-9 _ @ % + = : , . / -`` is written as it is (``--lr``);
- the empty token is written ``''``, so it stays an (empty) argument;
- any other text is put in single quotes, inside which bash changes nothing: no variables, no
  globs, no word splitting; a ``'`` in the token is written ``'"'"'`` (close, a quoted quote,
  reopen);
- a placeholder is written in double quotes, ``"${{inputs.x}}"``: Azure ML still finds and
  replaces it, and after the replacement a value with spaces (a file name, a string parameter)
  is still one argument and an empty value is still an argument. ``--x=${{inputs.a}}`` is written
  ``--x="${{inputs.a}}"``;
- text that only looks like the start of a placeholder or of an optional group (``${{``, ``$[[``)
  is written ``'$''{{'``, so Azure ML does not take it for one; bash joins the pieces again;
- a first token that bash would read as a keyword (``if``) or a variable assignment (``A=1``)
  is quoted, so it stays the program to run.

The result means the same to POSIX ``sh`` (dash), which the emulator runs commands with.
``split_command`` reads a command written this way back into its tokens.

Known shortcoming: inside the double quotes around a placeholder, bash still acts on ``$``,
backquotes, ``\\`` and ``"`` in the value Azure ML inserts. The paths Azure ML inserts normally
hold none of them, but the value of a string parameter might; such a value reaches the program
changed. Where that matters, pass the value through an environment variable of the component
instead of the command line.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from migrate_kit.v1.models import Argument, ArgumentKind, frozen_map

__all__ = [
    "References",
    "RewrittenArguments",
    "command_line",
    "join_command",
    "placeholder",
    "rewrite_arguments",
    "split_command",
]

# The v2 input and output names azure-ai-ml 1.35.2 accepts (``IOConstants.VALID_KEY_PATTERN``).
_IO_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)*"
_PLACEHOLDER = re.compile(r"\$\{\{(inputs|outputs)\." + _IO_NAME + r"\}\}")
_IO_NAME_FULL = re.compile(_IO_NAME)

# Characters that mean nothing to bash or sh outside quotes (the set ``shlex.quote`` leaves bare).
_SAFE = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
_RESERVED = frozenset(
    {"case", "coproc", "do", "done", "elif", "else", "esac", "fi", "for", "function", "if", "in"}
    | {"select", "then", "time", "until", "while"}
)

# Legacy placeholders in v1 literal text, and the whole-token dataset forms of the v1 runtime.
_LEGACY = re.compile(r"\$(AML_PARAMETER|AZUREML_DATAREFERENCE)_")
_WORD = re.compile(r"[A-Za-z0-9_]*")
_CONSUMPTION = "DatasetConsumptionConfig:"
_OUTPUT_CONFIG = "DatasetOutputConfig:"


@dataclass(frozen=True)
class References:
    """The v2 names of what a step's arguments may refer to, keyed by their v1 names."""

    inputs: Mapping[str, str] = field(default_factory=frozen_map)
    """v1 input name (port, data reference or dataset consumption name) -> v2 input name."""
    outputs: Mapping[str, str] = field(default_factory=frozen_map)
    """v1 output name -> v2 output name."""
    parameters: Mapping[str, str] = field(default_factory=frozen_map)
    """v1 pipeline parameter name (``Parameter`` tokens, ``$AML_PARAMETER_<name>``) -> v2 input."""


@dataclass(frozen=True)
class RewrittenArguments:
    """The v2 tokens of one step's arguments, what they refer to, and what could not be mapped."""

    tokens: tuple[str, ...]
    """One v2 token per v1 token, in order, placeholders in (``"--out"``, ``"${{outputs.x}}"``)."""
    inputs_used: tuple[str, ...] = ()
    """v2 input names referred to, in order of first use, each once."""
    outputs_used: tuple[str, ...] = ()
    """v2 output names referred to, in order of first use, each once."""
    problems: tuple[str, ...] = ()
    """Plain sentences: references that could not be mapped, and text to check by hand."""


def placeholder(kind: Literal["inputs", "outputs"], name: str) -> str:
    """The v2 placeholder of an input or output: ``${{inputs.a}}`` for ``("inputs", "a")``.

    Raises ``ValueError`` for a name azure-ai-ml would not accept as an input or output name,
    since such a placeholder would never be replaced.
    """
    if kind not in ("inputs", "outputs"):
        raise ValueError(f"placeholder kind must be 'inputs' or 'outputs', not {kind!r}")
    if not _IO_NAME_FULL.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a valid v2 {kind[:-1]} name: it must be letters, digits and "
            "underscores, not starting with a digit (dots may separate such parts)"
        )
    return "${{" + kind + "." + name + "}}"


def rewrite_arguments(arguments: Sequence[Argument], refs: References) -> RewrittenArguments:
    """Turn each v1 argument token into one v2 token, with placeholders for its references.

    The forms understood:

    - ``Input`` / ``Output`` tokens (the value is a port name) and ``Parameter`` tokens (the
      value is a pipeline parameter name) become ``${{inputs.x}}`` / ``${{outputs.y}}``;
    - in literal text, anywhere in the token: ``$AML_PARAMETER_<name>`` (a parameter) and
      ``$AZUREML_DATAREFERENCE_<name>`` (an input, or an output when only ``refs.outputs``
      names it), e.g. ``--region=$AML_PARAMETER_region`` becomes ``--region=${{inputs.region}}``.
      The name is the whole run of letters, digits and underscores after the prefix, as in the
      environment variable of that name v1 sets, so ``$AML_PARAMETER_region_x`` names
      ``region_x``, not ``region``;
    - a whole literal ``DatasetConsumptionConfig:<input>`` or ``DatasetOutputConfig:<output>``.

    Nothing raises for a name that is not in ``refs``: the token is kept as it was (the port or
    parameter name itself for a structured token) and a sentence naming it goes to ``problems``.
    Only a v2 name in ``refs`` that is not a valid input or output name raises ``ValueError``
    (see ``placeholder``): that is a mistake of the caller, not of the v1 pipeline.

    Known shortcoming: an optional v1 input is referred to like any other; nothing wraps it in
    a ``$[[...]]`` group, so a v2 job without a value for it fails. A caller that makes such an
    input optional in v2 has to write the group around that part of the command itself.
    """
    state = _State()
    tokens = tuple(_rewrite_one(n, arg, refs, state) for n, arg in enumerate(arguments, 1))
    return RewrittenArguments(
        tokens=tokens,
        inputs_used=tuple(state.inputs),
        outputs_used=tuple(state.outputs),
        problems=tuple(state.problems),
    )


def join_command(tokens: Sequence[str]) -> str:
    """Write ``tokens`` as one command line for bash, each token one argument (module docstring).

    Raises ``ValueError`` for a token holding a NUL character, which no command line can carry.
    """
    if isinstance(tokens, str):
        raise TypeError("join_command takes a sequence of tokens, not one string")
    return " ".join(_quote(token, first=n == 0) for n, token in enumerate(tokens))


def split_command(command: str) -> list[str]:
    """Split a command line into its tokens, undoing the quoting: the inverse of ``join_command``.

    Quotes are read as POSIX shells read them; nothing is expanded, so placeholders come back as
    text (``--x="${{inputs.a}}"`` gives ``--x=${{inputs.a}}``). Raises ``ValueError`` for an
    unterminated quote.
    """
    return shlex.split(command, comments=False, posix=True)


def command_line(
    program: Sequence[str], arguments: Sequence[Argument], refs: References
) -> tuple[str, RewrittenArguments]:
    """The v2 ``command`` for ``program`` (e.g. ``["python", "prep.py"]``) run with ``arguments``.

    Returns the command string and the rewritten arguments (for the inputs and outputs used and
    the problems found). Raises ``ValueError`` as ``join_command`` does, for a NUL character.
    """
    rewritten = rewrite_arguments(arguments, refs)
    return join_command([*program, *rewritten.tokens]), rewritten


# --- rewriting -------------------------------------------------------------------------------


@dataclass
class _State:
    inputs: dict[str, None] = field(default_factory=dict)  # dicts keep first-use order
    outputs: dict[str, None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def use(self, kind: Literal["inputs", "outputs"], name: str) -> str:
        (self.inputs if kind == "inputs" else self.outputs).setdefault(name, None)
        return placeholder(kind, name)


# What a structured token refers to: the words for a problem sentence and the placeholder kind.
_STRUCTURED: dict[ArgumentKind, tuple[str, Literal["inputs", "outputs"]]] = {
    ArgumentKind.INPUT: ("input", "inputs"),
    ArgumentKind.OUTPUT: ("output", "outputs"),
    ArgumentKind.PARAMETER: ("pipeline parameter", "inputs"),
}


def _rewrite_one(n: int, arg: Argument, refs: References, state: _State) -> str:
    if arg.kind is ArgumentKind.LITERAL:
        return _rewrite_literal(n, arg.value, refs, state)
    if arg.kind not in _STRUCTURED:
        state.problems.append(
            f"Argument {n} is of kind {arg.kind.value!r}, which cannot be converted; "
            f"it is kept as the text {arg.value!r}."
        )
        return arg.value

    what, kind = _STRUCTURED[arg.kind]
    mapping = {
        ArgumentKind.INPUT: refs.inputs,
        ArgumentKind.OUTPUT: refs.outputs,
        ArgumentKind.PARAMETER: refs.parameters,
    }[arg.kind]
    target = mapping.get(arg.value)
    if target is None:
        state.problems.append(
            f"Argument {n} ({arg.kind.value} {arg.value!r}) refers to {what} {arg.value!r}, "
            f"which has no v2 {kind[:-1]}; it is kept as the text {arg.value!r}."
        )
        return arg.value
    return state.use(kind, target)


def _rewrite_literal(n: int, text: str, refs: References, state: _State) -> str:
    # Dataset tokens count only as whole tokens, the form the v1 SDK writes them in.
    forms: tuple[tuple[str, Mapping[str, str], Literal["inputs", "outputs"]], ...] = (
        (_CONSUMPTION, refs.inputs, "inputs"),
        (_OUTPUT_CONFIG, refs.outputs, "outputs"),
    )
    for prefix, mapping, kind in forms:
        if text.startswith(prefix):
            name = text[len(prefix) :]
            if name in mapping:
                return state.use(kind, mapping[name])
            state.problems.append(
                f"Argument {n} ({text!r}) refers to dataset {kind[:-1]} {name!r}, which has no "
                f"v2 {kind[:-1]}; the token is kept as it was."
            )
            return text
        if prefix in text:
            state.problems.append(
                f"Argument {n} ({text!r}) holds {prefix!r} inside other text; only a whole "
                "token of that form is converted, so this one is kept as it was: check it by hand."
            )

    lookalike = _PLACEHOLDER.search(text)
    if lookalike:
        state.problems.append(
            f"Argument {n} ({text!r}) holds the text {lookalike.group()!r}, which Azure ML "
            "replaces with a value although v1 passed it as it is: change this argument by hand."
        )
    return _rewrite_legacy(n, text, refs, state)


def _rewrite_legacy(n: int, text: str, refs: References, state: _State) -> str:
    """Replace ``$AML_PARAMETER_<name>`` and ``$AZUREML_DATAREFERENCE_<name>`` inside ``text``.

    All or nothing: when one reference of the token is unknown, the whole token is kept, so a
    half-converted token never hides behind a problem about its other half.
    """
    pieces: list[str] = []
    used: list[tuple[Literal["inputs", "outputs"], str]] = []
    pos = 0
    while match := _LEGACY.search(text, pos):
        rest = text[match.end() :]
        parameter = match.group(1) == "AML_PARAMETER"
        known = refs.parameters if parameter else {**refs.outputs, **refs.inputs}
        word = _WORD.match(rest)
        name = word.group() if word else ""
        if not name or name not in known:
            what = "pipeline parameter" if parameter else "data reference"
            target = "input" if parameter else "input or output"
            state.problems.append(
                f"Argument {n} ({text!r}) refers to {what} {name!r}, which has no v2 "
                f"{target}; the token is kept as it was."
            )
            return text

        if parameter:
            used.append(("inputs", refs.parameters[name]))
        elif name in refs.inputs:
            used.append(("inputs", refs.inputs[name]))
            if name in refs.outputs:
                state.problems.append(
                    f"Argument {n} ({text!r}) refers to {name!r}, which is both an input and an "
                    "output of the step; it is taken as the input."
                )
        else:
            used.append(("outputs", refs.outputs[name]))
        pieces += [text[pos : match.start()], placeholder(*used[-1])]
        pos = match.end() + len(name)

    for kind, v2_name in used:
        state.use(kind, v2_name)
    return "".join([*pieces, text[pos:]])


# --- quoting ---------------------------------------------------------------------------------


def _quote(token: str, *, first: bool) -> str:
    if "\x00" in token:
        raise ValueError(f"token {token!r} holds a NUL character, which no command line can carry")
    if token == "":
        return "''"

    # A first token read as a keyword or an assignment would not be run as the program.
    force = first and (token in _RESERVED or bool(_ASSIGNMENT.match(token)))
    pieces: list[str] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(token):
        pieces += [_quote_text(token[pos : match.start()], force), f'"{match.group()}"']
        force = False
        pos = match.end()
    pieces.append(_quote_text(token[pos:], force))
    return "".join(pieces)


def _quote_text(text: str, force: bool) -> str:
    if text == "" or (not force and _SAFE.fullmatch(text)):
        return text
    quoted = "'" + text.replace("'", "'\"'\"'") + "'"
    # ``$''{{`` is ``${{`` to bash, but neither a placeholder nor a group to Azure ML.
    return quoted.replace("${{", "$''{{").replace("$[[", "$''[[")
