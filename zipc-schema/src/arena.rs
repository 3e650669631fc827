//! [`Arena`]: the storage the resolved layouts of a schema borrow from.
//!
//! The bottom of the crate with `diagnostic`, `document` and `values`: it imports nothing of
//! zipc-schema.

/// Storage for the layouts of resolved schemas. Keep it alive as long as the [`Schema`](crate::Schema)s made
/// from it; dropping it frees everything (nothing is leaked).
///
/// ```
/// let arena = zipc_schema::Arena::new();
/// let schema = zipc_schema::Schema::parse(
///     "demo.toml",
///     "[[structures]]\nname = \"temps\"\nkind = \"array\"\ntype = \"f32\"\ncapacity = 8\n",
///     &arena,
/// ).unwrap();
/// assert_eq!(schema.layout.structures[0].capacity, 8);
/// ```
#[derive(Default)]
pub struct Arena {
    // Strings and slices are copied in; layouts are `Copy` and own nothing, so no destructor is
    // ever skipped by the bump allocator.
    bump: bumpalo::Bump,
}

impl Arena {
    /// An empty arena.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn alloc<T: Copy>(&self, v: T) -> &T {
        self.bump.alloc(v)
    }

    pub(crate) fn str(&self, s: &str) -> &str {
        self.bump.alloc_str(s)
    }

    pub(crate) fn slice<T: Copy>(&self, s: &[T]) -> &[T] {
        self.bump.alloc_slice_copy(s)
    }
}

impl std::fmt::Debug for Arena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arena").field("allocated", &self.bump.allocated_bytes()).finish()
    }
}
