//! The syntax tree of a `.ww` file: declarations, entries and values with their source ranges,
//! plus the comments and blank lines `fmt` keeps.

use crate::source::Range;
use crate::strings::StrPart;

/// A name as written, with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub text: String,
    pub range: Range,
}

/// A `#` or `//` comment, marker included, trailing spaces removed.
#[derive(Clone, Debug, PartialEq)]
pub struct Comment {
    pub text: String,
    pub range: Range,
}

/// An element of a sequence (file, block, list) or a comment on its own line between elements.
#[derive(Clone, Debug, PartialEq)]
pub enum Member<T> {
    Item {
        value: T,
        /// A comment after the element on the same line.
        trailing: Option<Comment>,
        /// An empty line came before it in the source (kept, collapsed to one, by `fmt`).
        blank_before: bool,
    },
    Comment {
        comment: Comment,
        blank_before: bool,
    },
}

impl<T> Member<T> {
    /// The element, or `None` for a comment.
    pub fn item(&self) -> Option<&T> {
        match self {
            Member::Item { value, .. } => Some(value),
            Member::Comment { .. } => None,
        }
    }
}

/// Items of a sequence, mutably (lowering moves strings out of the tree instead of copying).
pub fn items_mut<T>(members: &mut [Member<T>]) -> impl Iterator<Item = &mut T> {
    members.iter_mut().filter_map(|m| match m {
        Member::Item { value, .. } => Some(value),
        Member::Comment { .. } => None,
    })
}

/// Items of a sequence, skipping comments.
pub fn items<T>(members: &[Member<T>]) -> impl Iterator<Item = &T> {
    members.iter().filter_map(Member::item)
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct File {
    pub members: Vec<Member<Top>>,
}

impl File {
    /// Declarations in source order, comments and top-level settings skipped.
    pub fn decls(&self) -> impl Iterator<Item = &Decl> {
        items(&self.members).filter_map(Top::decl)
    }
}

/// One top-level element: a declaration, or a setting of the whole system (`hooks = [...]`,
/// `pipes = [...]`) that is not a component, so it has no kind or type.
#[derive(Clone, Debug, PartialEq)]
pub enum Top {
    Decl(Decl),
    /// `key = value` at the top level, where the value is not `kind type { … }`.
    Setting(Entry),
}

impl Top {
    /// The declaration, or `None` for a setting.
    pub fn decl(&self) -> Option<&Decl> {
        match self {
            Top::Decl(d) => Some(d),
            Top::Setting(_) => None,
        }
    }
}

/// `name = kind type { … }` or the short form `name = type { … }` (`kind` is `None`).
#[derive(Clone, Debug, PartialEq)]
pub struct Decl {
    pub name: Ident,
    pub kind: Option<Ident>,
    pub type_name: Ident,
    pub body: Block,
    pub range: Range,
}

/// `{ entries }`: a declaration body or a map value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Block {
    pub members: Vec<Member<Entry>>,
    pub range: Range,
}

impl Block {
    /// Entries in source order, comments skipped.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        items(&self.members)
    }
}

/// `key: value` or `key = value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: Ident,
    pub value: Val,
    pub range: Range,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Val {
    pub kind: ValKind,
    pub range: Range,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ValKind {
    /// A string without `${VAR}` parts (the common case, kept in one allocation).
    Text(String),
    /// A string with `${VAR}` interpolation.
    Str(Vec<StrPart>),
    Int(i64),
    /// The value and its source text (kept by `fmt`).
    Float(f64, String),
    Bool(bool),
    Null,
    /// `$VAR`, `${VAR}`, `${VAR:-default}`; `braced` records the written form.
    Env {
        name: String,
        default: Option<String>,
        braced: bool,
    },
    /// A bare identifier: a reference to another declaration.
    Ref(String),
    List(Vec<Member<Val>>),
    Map(Block),
    /// A nested typed block `redis { … }` or `kind type { … }`.
    Typed(Box<TypedBlock>),
    /// A value that failed to parse; its diagnostic is already reported.
    Invalid,
}

/// `redis { … }` or `kind type { … }` as a value (boxed: rare, and it would make every value larger).
#[derive(Clone, Debug, PartialEq)]
pub struct TypedBlock {
    pub kind: Option<Ident>,
    pub type_name: Ident,
    pub body: Block,
}
