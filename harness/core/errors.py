"""The error types of convtx, and the one-line message format users see for bad input.

Every problem with a case file becomes a `CaseError` whose `str()` is
`path:line:col: case 'id': field: what is wrong (what was expected)`; the CLI prints that line and
exits 2, never a traceback.  `InvalidArguments` is raised by the semantics layer when a framework
would reject a call (output_padding >= stride, an empty output, ...): it is a *verdict* about a
case, not a bug in the case file, unless the case did not declare `expected: {invalid: ...}`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mark:
    """A position in a source file, 1-based as editors show it."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


class ConvtxError(Exception):
    """Base class of every error convtx raises on purpose."""


class CaseError(ConvtxError):
    """A case file that cannot be used as written."""

    def __init__(self, mark: Mark | None, message: str, *, case_id: str | None = None,
                 field: str | None = None):
        self.mark = mark
        self.message = message
        self.case_id = case_id
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [str(self.mark) if self.mark else "<input>"]
        if self.case_id:
            parts.append(f"case '{self.case_id}'")
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)

    def with_context(self, *, case_id: str | None = None, mark: Mark | None = None) -> "CaseError":
        return CaseError(self.mark or mark, self.message, case_id=self.case_id or case_id,
                         field=self.field)


class CaseErrors(CaseError):
    """Several problems of one case, all reported (`errors`, in file order); reads as the first."""

    def __init__(self, errors: list[CaseError]):
        self.errors = errors
        first = errors[0]
        super().__init__(first.mark, first.message, case_id=first.case_id, field=first.field)

    def with_context(self, *, case_id: str | None = None, mark: Mark | None = None) -> "CaseErrors":
        return CaseErrors([e.with_context(case_id=case_id, mark=mark) for e in self.errors])


class ArgumentProblem(ConvtxError):
    """Something wrong with one argument of a call: `field` (e.g. `args.padding`) and what."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class ArgError(ArgumentProblem):
    """An argument that is malformed, unknown or missing: a case-file error."""


class InvalidArguments(ArgumentProblem):
    """The arguments describe a call its framework rejects (or one with no output at all): a verdict."""


class UsageError(ConvtxError):
    """A command-line usage error (exit code 2)."""
