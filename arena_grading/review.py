"""Reading a submission's code before its points count: what sends it to a person.

Hidden tests run in the student's kernel, after the student's code, so anything that code
leaves behind can change what they report: a module attribute rebound, a trace or profile
hook, a frame or a garbage-collector walk, memory written through ctypes, code built from
strings. The judge cannot tell such a report from an honest one, so it reads the code
instead, in nbgrader's process: every code cell the student wrote or changed (exercise
cells, cells they added, the notebook's own cells they edited). A finding never costs
points by itself; it sends the notebook to manual grading, with the reason, instead of
giving automatic points. Honest solutions never do any of these things.

Each exercise module may also name ``REFUSED_HELPERS``: library functions that solve an
exercise for the student (``rollout`` plays exercise 1's episode). Using one in student
code gives that assignment's tests no points, with a message that says so.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from nbformat.notebooknode import NotebookNode

# Modules whose import alone means the code reaches into the interpreter, its memory or its code.
INTERNAL_MODULES = {
    "builtins", "__builtin__", "gc", "ctypes", "cffi", "inspect", "importlib", "imp", "linecache", "marshal",
    "pickle", "cPickle", "dill", "cloudpickle", "shelve", "copyreg", "code", "codeop", "runpy", "pdb", "bdb",
    "trace", "tracemalloc", "faulthandler", "signal", "mmap", "sysconfig", "site", "zipimport", "pkgutil",
}
# Names whose use means the same: the interpreter's own, IPython's shell and its history.
INTERNAL_NAMES = {
    "exec", "eval", "compile", "__import__", "globals", "locals", "vars", "setattr", "delattr", "breakpoint",
    "__builtins__", "get_ipython", "In", "Out", "_ih", "_oh", "_dh", "_i", "_ii", "_iii",
}
SHELL_NAMES = {"get_ipython", "In", "Out", "_ih", "_oh", "_dh", "_i", "_ii", "_iii"}
# Attributes that reach into modules, classes, functions, frames and tracebacks.
INTERNAL_ATTRIBUTES = {
    "__dict__", "__globals__", "__code__", "__closure__", "__builtins__", "__subclasses__", "__setattr__",
    "__delattr__", "__getattribute__", "__spec__", "__loader__", "__path__", "__import__", "__bases__", "__mro__",
    "__class__", "__func__", "__self__", "__wrapped__", "__defaults__", "__kwdefaults__", "__reduce__",
    "__reduce_ex__", "f_back", "f_locals", "f_globals", "f_builtins", "f_code", "f_trace", "tb_frame", "tb_next",
    "gi_frame", "cr_frame", "ag_frame", "settrace", "setprofile", "addaudithook", "_getframe", "meta_path",
    "path_hooks", "path_importer_cache", "excepthook", "displayhook", "as_strided", "ctypeslib", "walk_stack",
    "extract_stack", "StackSummary",
}
# Of the sys module, also these: the loaded modules, the import path, the standard streams.
SYS_ATTRIBUTES = {"modules", "path", "stdout", "stderr", "stdin", "__stdout__", "__stderr__"}
COURSE_PACKAGE = "arena_lib"  # REFUSED_HELPERS name what students may import from it
SHELL_ESCAPES = ("run_line_magic", "run_cell_magic", "system", "getoutput")
# Calls on an attribute that change the object in place (a library's list, dict or set).
MUTATING_METHODS = {"append", "extend", "insert", "update", "pop", "popitem", "remove", "clear", "setdefault",
                    "add", "discard", "__setitem__", "__delitem__"}


@dataclass(frozen=True)
class Finding:
    cell: int  # the cell's number in the notebook, from 1
    line: int
    what: str  # in words, for the instructor

    def __str__(self) -> str:
        return f"cell {self.cell}, line {self.line}: {self.what}"


def as_python(source: str) -> str:
    """The cell as IPython runs it: magics and shell escapes become get_ipython() calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def root_name(node: ast.AST) -> str | None:
    """``a`` of ``a.b[c].d``; None when it starts with a call or a literal."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def imported_names(trees: list[ast.AST]) -> dict[str, str]:
    """name -> the module it came from, for names bound by an import, and for names assigned
    from those (``answers = arena_lib.answers``), anywhere in the notebook."""
    names = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    names[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else \
                        alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                names.update({alias.asname or alias.name: f"{node.module}.{alias.name}" for alias in node.names})
    grew = True
    while grew:  # aliases of aliases
        grew = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and root_name(node.value) in names:
                    for target in node.targets:
                        if isinstance(target, ast.Name) and target.id not in names:
                            names[target.id] = names[root_name(node.value)]
                            grew = True
    return names


class _Reader(ast.NodeVisitor):
    def __init__(self, cell: int, imported: dict[str, str], refused: dict[str, str]):
        self.cell, self.imported, self.refused = cell, imported, refused
        self.review: list[Finding] = []
        self.refusals: list[Finding] = []

    def flag(self, node, what: str) -> None:
        self.review.append(Finding(self.cell, getattr(node, "lineno", 0), what))

    def refuse(self, node, name: str) -> None:
        self.refusals.append(Finding(self.cell, getattr(node, "lineno", 0),
                                     f"uses {name}: {self.refused[name]}"))

    def from_the_course(self, name: str) -> bool:
        return self.imported.get(name, "").startswith(COURSE_PACKAGE)

    def visit_Import(self, node):
        for alias in node.names:
            top = alias.name.split(".")[0]
            if top in INTERNAL_MODULES or alias.name.startswith("IPython") and alias.name != "IPython.display":
                self.flag(node, f"imports {alias.name}")

    def visit_ImportFrom(self, node):
        module = node.module or ""
        if module.split(".")[0] in INTERNAL_MODULES or module.startswith("IPython") and module != "IPython.display":
            self.flag(node, f"imports from {module}")
        for alias in node.names:
            if alias.name in INTERNAL_NAMES or alias.name in INTERNAL_ATTRIBUTES:
                self.flag(node, f"imports {alias.name} from {module}")
            if alias.name in self.refused and module.startswith(COURSE_PACKAGE):
                self.refuse(node, alias.name)

    def visit_Name(self, node):
        if node.id in SHELL_NAMES:
            self.flag(node, f"uses IPython's shell, its magics or its history ({node.id})")
        elif node.id in INTERNAL_NAMES:
            self.flag(node, f"uses {node.id}")
        if node.id in self.refused and self.from_the_course(node.id):
            self.refuse(node, node.id)

    def visit_Attribute(self, node):
        if node.attr in INTERNAL_ATTRIBUTES or (node.attr in SYS_ATTRIBUTES and self.is_sys(node.value)):
            self.flag(node, f"uses {ast.unparse(node)}")
        if node.attr in SHELL_ESCAPES and isinstance(node.value, ast.Call) \
                and getattr(node.value.func, "id", None) == "get_ipython":
            self.flag(node, "runs IPython magics or shell commands (% or !)")
        if node.attr in self.refused and self.from_the_course(root_name(node) or ""):
            self.refuse(node, node.attr)
        self.generic_visit(node)

    def visit_Call(self, node):
        function = node.func
        if isinstance(function, ast.Name) and function.id == "getattr" and len(node.args) >= 2 \
                and not isinstance(node.args[1], ast.Constant):
            self.flag(node, "uses getattr with a computed name")
        if isinstance(function, ast.Attribute) and function.attr in MUTATING_METHODS \
                and isinstance(function.value, ast.Attribute) and self.outside_own_objects(function.value):
            self.flag(node, f"changes {ast.unparse(function.value)} in place")
        self.generic_visit(node)

    def is_sys(self, node) -> bool:
        return isinstance(node, ast.Name) and self.imported.get(node.id) == "sys"

    def outside_own_objects(self, target) -> bool:
        """Whether assigning to ``target`` changes something that is not the student's own:
        an attribute (of anything but ``self`` or ``cls``), or an item of something imported."""
        root = root_name(target)
        if isinstance(target, ast.Attribute):
            return root not in ("self", "cls")
        if isinstance(target, ast.Subscript):
            return root is None or root in self.imported or (
                isinstance(target.value, ast.Attribute) and root not in ("self", "cls"))
        return False

    def assigned(self, node, targets) -> None:
        for target in targets:
            for each in ast.walk(target) if isinstance(target, (ast.Tuple, ast.List)) else [target]:
                if isinstance(each, (ast.Attribute, ast.Subscript)) and self.outside_own_objects(each):
                    self.flag(node, f"assigns to {ast.unparse(each)}")

    def visit_Assign(self, node):
        self.assigned(node, node.targets)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self.assigned(node, [node.target])
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self.assigned(node, [node.target])
        self.generic_visit(node)

    def visit_Delete(self, node):
        self.assigned(node, node.targets)
        self.generic_visit(node)

    def visit_For(self, node):
        self.assigned(node, [node.target])
        self.generic_visit(node)

    def visit_With(self, node):
        self.assigned(node, [item.optional_vars for item in node.items if item.optional_vars is not None])
        self.generic_visit(node)


@dataclass
class Reading:
    review: list  # Findings that send the notebook to a person
    refusals: list  # Findings of refused helpers: no points for the assignment's tests

    @property
    def clean(self) -> bool:
        return not self.review and not self.refusals


def student_cells(nb: NotebookNode, source: NotebookNode) -> list[tuple[int, str]]:
    """(number, source) of every code cell the student wrote or changed: exercise cells, and
    cells that are not, character for character, a code cell of the source notebook.
    (Locked test cells are back to the instructor's before this runs: nbgrader restores them.)"""
    given = {cell.source for cell in source.cells
             if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("solution")}
    found = []
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") or (cell.source not in given and not (meta.get("grade") and meta.get("locked"))):
            found.append((number, cell.source))
    return found


def read(nb: NotebookNode, source: NotebookNode, refused: dict[str, str] | None = None) -> Reading:
    """What the student's code does that the judge cannot trust (see the module's docstring)."""
    refused = refused or {}
    cells = []
    for number, text in student_cells(nb, source):
        try:
            cells.append((number, ast.parse(as_python(text))))
        except SyntaxError:
            continue  # a cell that does not parse does not run: it can change nothing
    every_tree = cells + [(0, tree) for tree in _parsed_code(nb)]
    imported = imported_names([tree for _, tree in every_tree])
    reading = Reading([], [])
    for number, tree in cells:
        reader = _Reader(number, imported, refused)
        reader.visit(tree)
        reading.review += reader.review
        reading.refusals += reader.refusals
    return reading


def _parsed_code(nb: NotebookNode) -> list[ast.AST]:
    trees = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            try:
                trees.append(ast.parse(as_python(cell.source)))
            except SyntaxError:
                continue
    return trees
