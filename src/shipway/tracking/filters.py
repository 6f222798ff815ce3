"""The run filter language: tokens, syntax tree and a parser that also checks types.

Grammar (keywords, operators and prefixes are case-insensitive)::

    filter     := or_expr
    or_expr    := and_expr ("OR" and_expr)*
    and_expr   := not_expr ("AND" not_expr)*
    not_expr   := "NOT" not_expr | "(" or_expr ")" | comparison
    comparison := column op literal | column ["NOT"] "IN" "(" literal ("," literal)* ")"
                | column "IS" ["NOT"] "NULL"
    column     := ("params" | "metrics" | "tags" | "attributes") "." key | attribute
    op         := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
                | ["NOT"] "LIKE" | ["NOT"] "ILIKE"

A key containing spaces or dots may be quoted: params.`learning rate`, metrics."val.acc".
Strings take single or double quotes; ``\\'``, ``\\"`` and ``\\\\`` are escapes, as is a
doubled quote; any other backslash is kept, so ``'a\\_b'`` reaches LIKE as an escaped ``_``.

Types are checked while parsing, so every error points at the offending token::

    >>> parse_filter("metrics.acc > 0.9 and params.model = 'rf'")
    And(operands=(Comparison(...), Comparison(...)))
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NoReturn, TypeAlias

from shipway.errors import FilterSyntaxError
from shipway.records import RUN_STATUSES

Value: TypeAlias = str | int | float | bool

PREFIXES = {
    "params": "param",
    "param": "param",
    "metrics": "metric",
    "metric": "metric",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
}

# Attribute name -> value type: string, time, status, bool or integer.
ATTRIBUTES = {
    "id": "string",
    "name": "string",
    "status": "status",
    "user": "string",
    "start_time": "time",
    "end_time": "time",
    "experiment": "string",
    "experiment_id": "integer",
    "parent_id": "string",
    "git_commit": "string",
    "git_branch": "string",
    "git_dirty": "bool",
    "source": "string",
    "description": "string",
}
ATTRIBUTE_ALIASES = {"run_id": "id", "run_name": "name"}
STATUSES = RUN_STATUSES

_KEY_TYPES = {"param": "string", "tag": "string", "metric": "number"}
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL", "TRUE", "FALSE"}
_SYMBOL_OPS = {
    "=": "=",
    "==": "=",
    "!=": "!=",
    "<>": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
}
_ORDERING = {"<", "<=", ">", ">="}
_OPS_BY_TYPE = {
    "string": {"=", "!=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE", "IN", "NOT IN"},
    "number": {"=", "!=", "IN", "NOT IN"} | _ORDERING,
    "time": {"=", "!=", "IN", "NOT IN"} | _ORDERING,
    "integer": {"=", "!=", "IN", "NOT IN"} | _ORDERING,
    "status": {"=", "!=", "IN", "NOT IN"},
    "bool": {"=", "!="},
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT64 = 2**63
_MAX_DEPTH = 50  # keeps the recursive parser and compiler far from Python's stack limit
_TIME_HINT = "a time is ms since the epoch or an ISO-8601 string such as '2026-01-31'"

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<word>[^\W\d][\w.\-/:]*)
  | (?P<op>==|!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # word, number, string, op, "(", ")", ",", end
    text: str  # as written
    value: str  # decoded content of a quoted token, else the text
    start: int
    end: int

    @property
    def keyword(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


@dataclass(frozen=True)
class Column:
    """``kind`` is attribute, param, metric or tag; ``name`` the canonical attribute or key."""

    kind: str
    name: str
    text: str
    start: int

    @property
    def type(self) -> str:
        return ATTRIBUTES[self.name] if self.kind == "attribute" else _KEY_TYPES[self.kind]


@dataclass(frozen=True)
class Comparison:
    """``column op value``; the value is converted to the column's type (None for IS NULL)."""

    column: Column
    op: str
    value: Value | tuple[Value, ...] | None
    position: int


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    operand: Node


Node: TypeAlias = Comparison | And | Or | Not


@dataclass(frozen=True)
class _Literal:
    kind: str  # string, number, bool
    value: Value
    token: Token


def parse_filter(text: str) -> Node | None:
    """The syntax tree of a filter, or None when it is empty; raises FilterSyntaxError."""
    if not text.strip():
        return None
    parser = _Parser(text)
    node = parser.or_expr()
    parser.expect_end()
    return node


def parse_order_item(text: str) -> tuple[Column, bool]:
    """``(column, descending)`` for one ORDER BY item such as ``metrics.acc DESC``."""
    parser = _Parser(text)
    column = parser.column()
    tok = parser.peek()
    descending = tok.keyword == "DESC"
    if tok.keyword in ("ASC", "DESC"):
        parser.advance()
    elif tok.kind != "end":
        parser.fail(f"expected ASC or DESC after {column.text!r}", tok)
    parser.expect_end()
    return column, descending


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos] in "'\"`":
            value, end = _scan_quoted(text, pos)
            kind = "quoted" if text[pos] == "`" else "string"
            tokens.append(Token(kind, text[pos:end], value, pos, end))
            pos = end
            continue
        match = _TOKEN.match(text, pos)
        if match is None:
            raise FilterSyntaxError(f"unexpected character {text[pos]!r}", text=text, position=pos)
        kind = match.lastgroup or ""
        if kind != "space":
            kind = match.group() if kind == "punct" else kind
            tokens.append(Token(kind, match.group(), match.group(), pos, match.end()))
        pos = match.end()
    tokens.append(Token("end", "", "", len(text), len(text)))
    return tokens


def _scan_quoted(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    pos = start + 1
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text):
            following = text[pos + 1]
            out.append(following if following in (quote, "\\") else char + following)
            pos += 2
        elif char == quote and text.startswith(quote, pos + 1):
            out.append(quote)
            pos += 2
        elif char == quote:
            return "".join(out), pos + 1
        else:
            out.append(char)
            pos += 1
    what = "quoted key" if quote == "`" else "string"
    reason = f"unterminated {what}; close it with {quote}"
    raise FilterSyntaxError(reason, text=text, position=start)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        tok = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return tok

    def fail(self, reason: str, where: Token | int) -> NoReturn:
        position = where if isinstance(where, int) else where.start
        raise FilterSyntaxError(reason, text=self.text, position=position)

    def expect_end(self) -> None:
        tok = self.peek()
        if tok.kind == ")":
            self.fail("unmatched ')'", tok)
        if tok.kind != "end":
            self.fail(
                f"unexpected {tok.text!r} after a complete condition; "
                "join conditions with AND or OR",
                tok,
            )

    # --- boolean structure -------------------------------------------------------------

    def or_expr(self) -> Node:
        operands = [self.and_expr()]
        while self.peek().keyword == "OR":
            self.advance()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expr(self) -> Node:
        operands = [self.not_expr()]
        while self.peek().keyword == "AND":
            self.advance()
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def not_expr(self) -> Node:
        tok = self.peek()
        if tok.keyword != "NOT" and tok.kind != "(":
            return self.comparison()
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            self.fail(f"nested deeper than {_MAX_DEPTH} levels of NOT and parentheses", tok)
        self.advance()
        node = Not(self.not_expr()) if tok.keyword == "NOT" else self.parenthesised(tok)
        self.depth -= 1
        return node

    def parenthesised(self, opening: Token) -> Node:
        node = self.or_expr()
        closing = self.peek()
        if closing.kind == "end":
            self.fail("unbalanced parentheses: this '(' is never closed", opening)
        if closing.kind != ")":
            self.fail(f"expected AND, OR or ')', found {closing.text!r}", closing)
        self.advance()
        return node

    # --- comparisons -------------------------------------------------------------------

    def comparison(self) -> Comparison:
        column = self.column()
        op_token = self.peek()
        op = self.operator(column)
        _check_operator(self, column, op, op_token)
        if op in ("IS NULL", "IS NOT NULL"):
            return Comparison(column, op, None, op_token.start)
        if op in ("IN", "NOT IN"):
            items = tuple(_convert(self, column, op, lit) for lit in self.literal_list())
            return Comparison(column, op, items, op_token.start)
        after = self.tokens[self.index - 1]
        value = _convert(self, column, op, self.literal(after))
        return Comparison(column, op, value, op_token.start)

    def column(self) -> Column:
        tok = self.peek()
        if tok.kind != "word" or tok.keyword in _KEYWORDS:
            found = "the end of the filter" if tok.kind == "end" else repr(tok.text)
            self.fail(
                f"expected a column such as metrics.acc, params.model, tags.team or "
                f"start_time, found {found}",
                tok,
            )
        self.advance()
        prefix, dot, key = tok.text.partition(".")
        if not dot:
            return self.attribute(prefix, tok.text, tok.start, tok.start)
        kind = PREFIXES.get(prefix.lower())
        if kind is None:
            self.fail(
                f"unknown prefix {prefix!r}; use params., metrics., tags. or attributes.", tok
            )
        end = tok.end
        if not key:
            key, end = self.quoted_key(tok)
        text = self.text[tok.start : end]
        if kind == "attribute":
            return self.attribute(key, text, tok.start, tok.start + len(prefix) + 1)
        return Column(kind, key, text, tok.start)

    def quoted_key(self, prefix: Token) -> tuple[str, int]:
        tok = self.peek()
        adjacent = tok.start == prefix.end and tok.text[:1] in ("`", '"')
        if not adjacent:
            self.fail(
                f"expected a key after {prefix.text!r}; quote keys with spaces or dots "
                "with backticks or double quotes",
                prefix.end,
            )
        if not tok.value:
            self.fail("empty key", tok)
        self.advance()
        return tok.value, tok.end

    def attribute(self, name: str, text: str, start: int, position: int) -> Column:
        canonical = ATTRIBUTE_ALIASES.get(name.lower(), name.lower())
        if canonical not in ATTRIBUTES:
            valid = ", ".join(sorted([*ATTRIBUTES, *ATTRIBUTE_ALIASES]))
            self.fail(
                f"unknown attribute {name!r}; valid attributes are {valid} "
                "(or use params., metrics. or tags.)",
                position,
            )
        return Column("attribute", canonical, text, start)

    def operator(self, column: Column) -> str:
        tok = self.peek()
        if tok.kind == "op":
            self.advance()
            return _SYMBOL_OPS[tok.text]
        if tok.keyword in ("LIKE", "ILIKE", "IN"):
            self.advance()
            return tok.keyword
        if tok.keyword == "NOT" and self.tokens[self.index + 1].keyword in ("LIKE", "ILIKE", "IN"):
            self.advance()
            return "NOT " + self.advance().keyword
        if tok.keyword == "IS":
            return self.is_null(tok)
        self.fail(
            f"expected an operator after {column.text!r} "
            "(=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS NULL)",
            tok,
        )

    def is_null(self, is_token: Token) -> str:
        self.advance()
        negated = self.peek().keyword == "NOT"
        if negated:
            self.advance()
        if self.peek().keyword != "NULL":
            self.fail("expected NULL or NOT NULL after IS", self.peek())
        self.advance()
        return "IS NOT NULL" if negated else "IS NULL"

    def literal(self, after: Token) -> _Literal:
        tok = self.peek()
        if tok.kind == "string":
            self.advance()
            return _Literal("string", tok.value, tok)
        if tok.kind == "number":
            self.advance()
            return _Literal("number", _number(tok.text), tok)
        if tok.keyword in ("TRUE", "FALSE"):
            self.advance()
            return _Literal("bool", tok.keyword == "TRUE", tok)
        if tok.keyword == "NULL":
            self.fail("compare with NULL using IS NULL or IS NOT NULL", tok)
        if tok.kind == "(":
            self.fail("a list of values needs IN or NOT IN", tok)
        found = "" if tok.kind == "end" else f", found {tok.text!r}"
        self.fail(
            f"expected a value after {after.text!r} (a quoted string, a number, true or "
            f"false){found}",
            tok,
        )

    def literal_list(self) -> list[_Literal]:
        opening = self.peek()
        if opening.kind != "(":
            self.fail("expected '(' and a list of values after IN, e.g. IN ('a', 'b')", opening)
        self.advance()
        if self.peek().kind == ")":
            self.fail("empty IN list; give at least one value", opening)
        items = [self.literal(opening)]
        while self.peek().kind == ",":
            comma = self.advance()
            if self.peek().kind == ")":
                break
            items.append(self.literal(comma))
        closing = self.peek()
        if closing.kind != ")":
            self.fail("expected ',' or ')' in the IN list", closing)
        self.advance()
        return items


def _number(text: str) -> int | float:
    if any(c in text for c in ".eE"):
        return float(text)
    return int(text)


# --- typing rules ---------------------------------------------------------------------


def _check_operator(parser: _Parser, column: Column, op: str, tok: Token) -> None:
    kind = column.type
    if op in ("IS NULL", "IS NOT NULL") or op in _OPS_BY_TYPE[kind]:
        return
    shown = op.replace("NOT ", "")
    if kind == "string":
        what = {"param": "params are strings", "tag": "tags are strings"}.get(
            column.kind, f"{column.name} is a string"
        )
        hint = f"compare with = or LIKE, e.g. {column.text} = '8'"
    elif kind == "status":
        what, hint = "status is a name", f"compare with = or IN; one of {', '.join(STATUSES)}"
    elif kind == "bool":
        what, hint = f"{column.name} is true or false", f"write {column.text} = true"
    else:
        noun = "metrics are numbers" if column.kind == "metric" else f"{column.name} is a number"
        what, hint = noun, "compare with =, !=, <, <=, >, >= or IN"
    parser.fail(f"{what}, so {shown} does not apply; {hint}", tok)


def _convert(parser: _Parser, column: Column, op: str, lit: _Literal) -> Value:
    kind = column.type
    if kind == "string":
        return _as_string(parser, column, op, lit)
    if kind == "number":
        return _as_number(parser, column, lit)
    if kind == "time":
        return _as_time(parser, lit)
    if kind == "integer":
        return _as_integer(parser, column, lit)
    if kind == "status":
        return _as_status(parser, lit)
    if lit.kind != "bool":
        parser.fail(f"{column.name} compares with true or false", lit.token)
    return lit.value


def _as_string(parser: _Parser, column: Column, op: str, lit: _Literal) -> str:
    noun = f"{column.name} is a string"
    if column.kind != "attribute":
        noun = f"{column.kind}s are strings"
    if lit.kind == "bool":
        parser.fail(f"{noun}; quote the value, e.g. '{lit.token.text}'", lit.token)
    if "LIKE" in op:
        if lit.kind != "string":
            parser.fail(f"LIKE needs a quoted pattern, e.g. '{lit.token.text}%'", lit.token)
        if _ends_with_escape(str(lit.value)):
            parser.fail("a LIKE pattern cannot end with a lone backslash", lit.token)
    # A bare number is compared as written: params.depth = 8 matches the value '8'.
    return str(lit.value) if lit.kind == "string" else lit.token.text


def _as_number(parser: _Parser, column: Column, lit: _Literal) -> float:
    if lit.kind == "number":
        return float(lit.value)
    text = lit.token.text
    if lit.kind == "string" and _looks_numeric(str(lit.value)):
        hint = f"remove the quotes: {lit.value}"
    else:
        hint = f"compare with a number, e.g. {column.text} > 0.9"
    parser.fail(f"metrics are numbers, not {text}; {hint}", lit.token)


def _as_integer(parser: _Parser, column: Column, lit: _Literal) -> int:
    value = lit.value
    if lit.kind == "string" and str(value).isdigit():
        value = int(str(value))
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) >= _INT64:
        parser.fail(f"{column.name} is a whole number", lit.token)
    return value


def _as_time(parser: _Parser, lit: _Literal) -> int | float:
    if lit.kind == "number":
        number = lit.value
        assert isinstance(number, int | float)
        if abs(number) >= _INT64:
            parser.fail(f"time out of range; {_TIME_HINT}", lit.token)
        return int(number) if float(number).is_integer() else number
    if lit.kind == "string":
        try:
            moment = datetime.fromisoformat(str(lit.value))
        except ValueError:
            parser.fail(f"not a valid time; {_TIME_HINT} or '2026-01-31T12:00:00Z'", lit.token)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)  # naive means UTC
        return (moment - _EPOCH) // timedelta(milliseconds=1)
    parser.fail(f"expected a time; {_TIME_HINT}", lit.token)


def _as_status(parser: _Parser, lit: _Literal) -> str:
    value = str(lit.value).lower()
    if lit.kind != "string" or value not in STATUSES:
        parser.fail(f"status must be one of {', '.join(STATUSES)}", lit.token)
    return value


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _ends_with_escape(pattern: str) -> bool:
    trailing = len(pattern) - len(pattern.rstrip("\\"))
    return trailing % 2 == 1
