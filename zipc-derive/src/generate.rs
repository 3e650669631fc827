//! Code generation. Everything is emitted inside `const _: () = { ... };`, so that helper
//! constants stay out of the user's namespace, and refers to the runtime through the crate path
//! (`::zipc`, or `#[zipc(crate = "...")]`).
//!
//! The layout rules are not computed here. The generated code builds zipc's layout values
//! (`StructLayout`, `StructureLayout`, `SegmentLayout`) from what rustc knows (`size_of`,
//! `offset_of!`, the field types' `ShmType`/`Structure` constants) and evaluates zipc's `const`
//! checks on them in constants, one per rule and field, each panicking with zipc's message at the
//! span of the field or attribute at fault. rustc reports every failing constant, so a
//! declaration's errors all appear in one compile.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use crate::parse::{Container, Field, Value};

/// `tokens` with every span set to `span` (so that a trait-bound error on a path points at the
/// user's field instead of the derive).
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut t| {
            if let TokenTree::Group(g) = &t {
                let mut inner = Group::new(g.delimiter(), respan(g.stream(), span));
                inner.set_span(span);
                t = TokenTree::Group(inner);
            } else {
                t.set_span(span);
            }
            t
        })
        .collect()
}

/// A constant that evaluates `check` (an `Option<Message>`) and, if it is `Some`, fails the
/// compile with the message at `span`.
fn check(span: Span, check: TokenStream) -> TokenStream {
    quote_spanned! {span=>
        const _: () = if let ::core::option::Option::Some(message) = #check {
            ::core::panic!("{}", message.as_str())
        };
    }
}

/// `#[derive(ShmType)]`.
pub fn shm_type(c: &Container<'_>, fields: &[Field<'_>]) -> TokenStream {
    let krate = &c.krate;
    let ident = c.ident;
    let type_name = ident.unraw().to_string();
    let doc = &c.doc;
    let shm_type = |span| respan(quote!(#krate::ShmType), span);

    let field_layouts = fields.iter().map(|f| {
        let (name, doc, fident, ty) = (f.name_string(), &f.doc, f.ident, f.ty);
        let trait_ = shm_type(ty.span());
        quote! {
            #krate::layout::FieldLayout {
                name: #name,
                doc: #doc,
                offset: ::core::mem::offset_of!(#ident, #fident) as u64,
                ty: <#ty as #trait_>::SHM_LAYOUT,
            }
        }
    });

    let probe = |konst: &str| {
        let konst = format_ident!("{konst}");
        quote!(#krate::derive_support::Probe::<#ident>::#konst)
    };
    let (copy, from, into, immutable, known) =
        (probe("COPY"), probe("FROM_BYTES"), probe("INTO_BYTES"), probe("IMMUTABLE"), probe("KNOWN_LAYOUT"));
    let mut checks = vec![check(
        ident.span(),
        quote!(#krate::derive_support::missing_derives(&__ZIPC_LAYOUT, #copy, #from, #into, #immutable, #known)),
    )];
    for (i, f) in fields.iter().enumerate() {
        let (name, ty) = (f.name_string(), f.ty);
        let trait_ = shm_type(ty.span());
        checks.push(check(
            ty.span(),
            quote!(#krate::derive_support::field_layout_error(
                #type_name,
                #name,
                &<#ty as #trait_>::SHM_LAYOUT,
                ::core::mem::size_of::<#ty>(),
                ::core::mem::align_of::<#ty>(),
            )),
        ));
        checks.push(check(f.ident.span(), quote!(#krate::derive_support::padding_error(&__ZIPC_LAYOUT, #i))));
    }
    let end = fields.len();
    checks.push(check(ident.span(), quote!(#krate::derive_support::padding_error(&__ZIPC_LAYOUT, #end))));

    quote! {
        const _: () = {
            #[allow(unused_imports)]
            use #krate::derive_support::{
                NotCopy as _, NotFromBytes as _, NotImmutable as _, NotIntoBytes as _, NotKnownLayout as _,
            };

            const __ZIPC_LAYOUT: #krate::layout::StructLayout<'static> = #krate::layout::StructLayout {
                name: #type_name,
                doc: #doc,
                size: ::core::mem::size_of::<#ident>() as u64,
                align: ::core::mem::align_of::<#ident>() as u64,
                fields: &[#(#field_layouts),*],
            };

            // SAFETY: the layout is rustc's own (size_of, align_of, offset_of!, and each field
            // type's ShmType layout, whose size and alignment are checked against rustc's below);
            // the checks below also prove #[repr(C)] (checked by the derive), the zerocopy traits
            // and that the fields cover every byte. Any failure is a compile error.
            #[automatically_derived]
            unsafe impl #krate::ShmType for #ident {
                const SHM_LAYOUT: #krate::layout::TypeLayout<'static> =
                    #krate::layout::TypeLayout::Struct(&__ZIPC_LAYOUT);
            }

            #(#checks)*
        };
    }
}

/// `#[derive(ShmSegment)]`.
pub fn shm_segment(c: &Container<'_>, fields: &[Field<'_>]) -> TokenStream {
    let krate = &c.krate;
    let ident = c.ident;
    let type_name = ident.unraw().to_string();
    let n = fields.len();
    let structure = |span| respan(quote!(#krate::Structure), span);

    let declared = fields.iter().map(|f| {
        let ty = f.ty;
        let krate = respan(quote!(#krate), ty.span());
        quote_spanned!(ty.span()=> #krate::derive_support::Probe::<#ty>::STRUCTURE)
    });
    let bases = fields.iter().enumerate().map(|(i, f)| {
        let name = match &f.name {
            Some(lit) => quote!(#lit),
            None => {
                let s = f.name_string();
                quote!(#s)
            }
        };
        let doc = &f.doc;
        quote!(#krate::derive_support::base(#name, #doc, __ZIPC_DECLARED[#i]))
    });
    let arg = |v: &Value| match v {
        Value::Int(i) => {
            let lit = proc_macro2::Literal::i128_unsuffixed(*i);
            quote!(#krate::layout::Arg::Int(#lit))
        }
        Value::Bool(b) => quote!(#krate::layout::Arg::Bool(#b)),
        Value::Str(s) => quote!(#krate::layout::Arg::Str(#s)),
    };
    let attributes = fields.iter().map(|f| {
        let items = f.params.iter().map(|p| {
            let key = p.key.unraw().to_string();
            let value = arg(&p.value);
            quote!((#key, #value))
        });
        quote!(&[#(#items),*])
    });
    let field_names = fields.iter().map(|f| f.name_string());

    let mut checks = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        for p in &f.params {
            let key = p.key.unraw().to_string();
            let value = arg(&p.value);
            checks.push(check(
                p.key.span(),
                quote!(#krate::derive_support::attribute_error(&__ZIPC_DECLARED[#i], #key, #value)),
            ));
            checks.push(check(
                p.key.span(),
                quote!(#krate::derive_support::parameter_rule_error(
                    &#ident::LAYOUT, #i, &__ZIPC_DECLARED[#i], __ZIPC_ATTRIBUTES[#i], #key, #type_name, &__ZIPC_FIELDS,
                )),
            ));
        }
        checks.push(check(
            f.ident.span(),
            quote!(#krate::derive_support::structure_error(
                &#ident::LAYOUT, #i, &__ZIPC_DECLARED[#i], __ZIPC_ATTRIBUTES[#i], #type_name, &__ZIPC_FIELDS,
            )),
        ));
    }
    let table_span = c.max_entries.map(|(_, s)| s).unwrap_or_else(|| ident.span());
    checks.push(check(table_span, quote!(#krate::derive_support::segment_error(&#ident::LAYOUT, #type_name))));

    let max_entries = match c.max_entries {
        Some((v, _)) => quote!(#v),
        None => quote!(#krate::table::DEFAULT_MAX_ENTRIES),
    };
    let max_processes = match c.max_processes {
        Some((v, _)) => quote!(#v),
        None => quote!(#krate::description::DEFAULT_MAX_PROCESSES),
    };
    let layout_name = match &c.segment_name {
        Some(lit) => quote!(::core::option::Option::Some(#lit)),
        None => quote!(::core::option::Option::None),
    };
    let size_panic = quote_spanned!(ident.span()=> ::core::panic!("{}", message.as_str()));

    // Per-field code carries the field type's span: a trait-bound error on the type (an element
    // that is not ShmType, a type that is not a structure) is then reported once, at the field.
    let create_fields = fields.iter().enumerate().map(|(i, f)| {
        let (fident, ty) = (f.ident, f.ty);
        let trait_ = structure(ty.span());
        quote_spanned!(ty.span()=> #fident: <#ty as #trait_>::create_in(segment, &Self::LAYOUT.structures[#i])?)
    });
    let vars: Vec<_> =
        fields.iter().enumerate().map(|(i, f)| format_ident!("__zipc_structure_{i}", span = f.ty.span())).collect();
    let opens = fields.iter().zip(&vars).enumerate().map(|(i, (f, var))| {
        let ty = f.ty;
        let trait_ = structure(ty.span());
        let krate = respan(quote!(#krate), ty.span());
        quote_spanned! {ty.span()=>
            let #var = #krate::derive_support::open_structure(
                &segment, &Self::LAYOUT.structures[#i], &mut mismatches, <#ty as #trait_>::open_in,
            )?;
        }
    });
    let idents: Vec<_> = fields.iter().map(|f| f.ident).collect();
    let finish_open = if n == 0 {
        quote!(::core::result::Result::Ok(Self {}))
    } else {
        quote! {
            match (#(#vars,)*) {
                (#(::core::option::Option::Some(#vars),)*) => ::core::result::Result::Ok(Self { #(#idents: #vars),* }),
                _ => ::core::result::Result::Err(#krate::derive_support::incompatible(&segment, mismatches)),
            }
        }
    };

    let defaults = c.segment_name.as_ref().map(|lit| {
        quote! {
            /// The segment name the declaration gives (`#[zipc(name = "...")]`).
            pub const NAME: &'static str = #lit;

            /// [`create`](Self::create)s the segment under its declared name, [`NAME`](Self::NAME).
            pub fn create_default() -> #krate::Result<Self> {
                Self::create(Self::NAME)
            }

            /// [`open`](Self::open)s the segment under its declared name, [`NAME`](Self::NAME).
            pub fn open_default() -> #krate::Result<Self> {
                Self::open(Self::NAME)
            }

            /// [`open_or_create`](Self::open_or_create) under the declared name, [`NAME`](Self::NAME).
            pub fn open_or_create_default() -> #krate::Result<Self> {
                Self::open_or_create(Self::NAME)
            }

            /// [`unlink`](Self::unlink)s the segment of the declared name, [`NAME`](Self::NAME).
            pub fn unlink_default() -> #krate::Result<()> {
                Self::unlink(Self::NAME)
            }
        }
    });

    quote! {
        const _: () = {
            #[allow(unused_imports)]
            use #krate::derive_support::NotStructure as _;

            const __ZIPC_DECLARED: [::core::option::Option<#krate::layout::StructureLayout<'static>>; #n] =
                [#(#declared),*];
            const __ZIPC_BASE: [#krate::layout::StructureLayout<'static>; #n] = [#(#bases),*];
            const __ZIPC_ATTRIBUTES: [&[#krate::derive_support::Attribute]; #n] = [#(#attributes),*];
            const __ZIPC_FIELDS: [&str; #n] = [#(#field_names),*];
            const __ZIPC_STRUCTURES: [#krate::layout::StructureLayout<'static>; #n] = {
                let mut structures = __ZIPC_BASE;
                let mut i = 0;
                while i < #n {
                    structures[i] = #krate::derive_support::declare(__ZIPC_BASE[i], __ZIPC_ATTRIBUTES[i]);
                    i += 1;
                }
                structures
            };

            #[automatically_derived]
            impl #ident {
                /// The declared layout: every structure's name, kind, element type and parameters,
                /// in creation order, and the table's capacity.
                pub const LAYOUT: #krate::layout::SegmentLayout<'static> = #krate::layout::SegmentLayout {
                    name: #layout_name,
                    max_entries: #max_entries,
                    max_processes: #max_processes,
                    structures: &__ZIPC_STRUCTURES,
                };

                /// The segment's exact size in bytes once every structure is created (the file
                /// is this rounded up to the page size), computed at compile time.
                pub const SIZE: u64 = match #krate::derive_support::segment_size(&Self::LAYOUT) {
                    ::core::result::Result::Ok(size) => size,
                    // The declaration breaks a rule; the checks report it at its field.
                    ::core::result::Result::Err(::core::option::Option::None) => 0,
                    ::core::result::Result::Err(::core::option::Option::Some(message)) => #size_panic,
                };

                #defaults

                /// Creates segment `name`, sized exactly for the declaration, with every structure
                /// in place before anyone can open it. Fails with `Error::AlreadyExists` if the
                /// segment exists.
                pub fn create(name: &str) -> #krate::Result<Self> {
                    #krate::SegmentOptions::for_layout(&Self::LAYOUT)?.create_populated(name, |segment| {
                        ::core::result::Result::Ok(Self { #(#create_fields),* })
                    })
                }

                /// Opens segment `name` and every declared structure in it, checking each one's
                /// kind, element layout (fingerprint), capacity and parameters. Every difference
                /// is reported in one `Error::Incompatible`.
                pub fn open(name: &str) -> #krate::Result<Self> {
                    let segment = #krate::Segment::open(name)?;
                    #[allow(unused_mut)]
                    let mut mismatches = ::std::vec::Vec::<#krate::Error>::new();
                    #(#opens)*
                    #finish_open
                }

                /// Opens segment `name`, or creates it if it does not exist (of concurrent
                /// callers, one creates and the others open).
                pub fn open_or_create(name: &str) -> #krate::Result<Self> {
                    #krate::derive_support::open_or_create(name, Self::open, Self::create)
                }

                /// Removes segment `name` from the system; processes that have it open keep
                /// using it.
                pub fn unlink(name: &str) -> #krate::Result<()> {
                    #krate::Segment::unlink(name)
                }
            }

            #(#checks)*

            // Evaluates SIZE, so an overflowing declaration is an error even if SIZE is unused.
            const _: u64 = #ident::SIZE;
        };
    }
}
