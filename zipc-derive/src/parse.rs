//! Parsing: the derive input and its `#[zipc(...)]`, `#[repr(...)]` and doc attributes into the
//! model below. Malformed attributes are recorded and skipped, so that parsing goes on and every
//! error is reported at once. What the values mean is not decided here: structure parameters
//! are passed on as written and checked against zipc's parameter table by the generated code.

use proc_macro2::{Span, TokenTree};
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Generics, Ident, Lit, LitInt, LitStr, Path, Token, Type};

use crate::errors::Errors;

/// Which derive is expanding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Derive {
    /// `#[derive(ShmType)]` on an element struct.
    ShmType,
    /// `#[derive(ShmSegment)]` on a struct of structures.
    ShmSegment,
}

impl Derive {
    /// The derive's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Derive::ShmType => "ShmType",
            Derive::ShmSegment => "ShmSegment",
        }
    }

    /// The `#[zipc(...)]` keys the derive takes on the struct.
    fn container_keys(self) -> &'static [&'static str] {
        match self {
            Derive::ShmType => &["crate"],
            Derive::ShmSegment => &["name", "max_entries", "max_processes", "crate"],
        }
    }
}

/// The input struct.
pub struct Container<'a> {
    /// The derive.
    pub derive: Derive,
    /// The struct's name.
    pub ident: &'a Ident,
    /// Its generics (refused by validation).
    pub generics: &'a Generics,
    /// Path of the zipc crate: `#[zipc(crate = "...")]`, default `::zipc`.
    pub krate: Path,
    /// Its doc comment.
    pub doc: String,
    /// Its `#[repr(...)]`.
    pub repr: Repr,
    /// `#[zipc(name = "/segment")]`: the default segment name (ShmSegment).
    pub segment_name: Option<LitStr>,
    /// `#[zipc(max_entries = N)]` (ShmSegment).
    pub max_entries: Option<(u32, Span)>,
    /// `#[zipc(max_processes = N)]` (ShmSegment).
    pub max_processes: Option<(u32, Span)>,
    /// The fields, or what the input is instead of a struct with named fields.
    pub body: Body<'a>,
}

/// The shape of the input.
pub enum Body<'a> {
    /// A struct with named fields.
    Struct(Vec<Field<'a>>),
    /// A tuple struct (refused).
    Tuple(Span),
    /// A unit struct (refused).
    Unit(Span),
    /// An enum (refused).
    Enum(Span),
    /// A union (refused).
    Union(Span),
}

/// The `#[repr(...)]` of the struct.
#[derive(Default)]
pub struct Repr {
    /// `C` is present.
    pub c: bool,
    /// Every other representation hint (`packed`, `align(8)`, `transparent`, ...), with its span.
    pub other: Vec<(String, Span)>,
}

/// One named field.
pub struct Field<'a> {
    /// Its name.
    pub ident: &'a Ident,
    /// Its type.
    pub ty: &'a Type,
    /// Its doc comment.
    pub doc: String,
    /// `#[zipc(name = "...")]`: the structure's name in the table (ShmSegment).
    pub name: Option<LitStr>,
    /// Every other `#[zipc(key = value)]`: parameters of the structure's kind (ShmSegment).
    pub params: Vec<Param>,
}

impl Field<'_> {
    /// The field's name as written, without `r#`.
    pub fn name_string(&self) -> String {
        self.ident.unraw().to_string()
    }
}

/// A structure parameter as written: `capacity = 1024`.
pub struct Param {
    /// The key.
    pub key: Ident,
    /// The value.
    pub value: Value,
}

/// A parameter's literal value.
pub enum Value {
    /// An integer, possibly negative.
    Int(i128),
    /// `true` / `false`.
    Bool(bool),
    /// A string.
    Str(String),
}

/// Parses the input, recording malformed attributes in `errors`.
pub fn container<'a>(derive: Derive, input: &'a DeriveInput, errors: &mut Errors) -> Container<'a> {
    let mut c = Container {
        derive,
        ident: &input.ident,
        generics: &input.generics,
        krate: syn::parse_quote!(::zipc),
        doc: doc(&input.attrs),
        repr: repr(&input.attrs, errors),
        segment_name: None,
        max_entries: None,
        max_processes: None,
        body: Body::Unit(input.ident.span()),
    };
    container_attributes(&mut c, &input.attrs, errors);
    c.body = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => Body::Struct(named.named.iter().map(|f| field(derive, f, errors)).collect()),
            Fields::Unnamed(u) => Body::Tuple(u.span()),
            Fields::Unit => Body::Unit(input.ident.span()),
        },
        Data::Enum(e) => Body::Enum(e.enum_token.span),
        Data::Union(u) => Body::Union(u.union_token.span),
    };
    c
}

/// The doc comment (`///` lines are `#[doc = "..."]` attributes), lines joined, the one space
/// after `///` removed.
fn doc(attrs: &[syn::Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta {
            if let syn::Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) = &nv.value {
                let line = s.value();
                lines.push(line.strip_prefix(' ').unwrap_or(&line).trim_end().to_owned());
            }
        }
    }
    lines.join("\n").trim().to_owned()
}

fn repr(attrs: &[syn::Attribute], errors: &mut Errors) -> Repr {
    let mut repr = Repr::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("repr")) {
        let result = attr.parse_nested_meta(|meta| {
            let name = meta.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
            if name == "C" {
                repr.c = true;
            } else {
                repr.other.push((name, meta.path.span()));
            }
            skip_rest(meta.input)
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    repr
}

/// Skips the rest of one nested-meta item (`= value`, `(...)`), up to the next top-level comma.
fn skip_rest(input: ParseStream<'_>) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(Token![,]) {
        input.parse::<TokenTree>()?;
    }
    Ok(())
}

fn zipc_attributes(attrs: &[syn::Attribute]) -> impl Iterator<Item = &syn::Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("zipc"))
}

fn container_attributes(c: &mut Container<'_>, attrs: &[syn::Attribute], errors: &mut Errors) {
    let derive = c.derive;
    let mut krate: Option<Path> = None;
    for attr in zipc_attributes(attrs) {
        let result = attr.parse_nested_meta(|meta| {
            let key = key_of(&meta);
            match key.as_str() {
                "crate" if krate.is_none() => {
                    let lit = parse_str(&meta, "crate")?;
                    match lit.parse::<Path>() {
                        Ok(p) => krate = Some(p),
                        Err(_) => errors.spanned(
                            &lit,
                            format!("`crate` must be a path, like \"::zipc\"; {:?} is not one", lit.value()),
                        ),
                    }
                }
                "name" if derive == Derive::ShmSegment && c.segment_name.is_none() => {
                    c.segment_name = Some(parse_str(&meta, "name")?);
                }
                "max_entries" if derive == Derive::ShmSegment && c.max_entries.is_none() => {
                    c.max_entries = Some(parse_u32(&meta, "max_entries")?);
                }
                "max_processes" if derive == Derive::ShmSegment && c.max_processes.is_none() => {
                    c.max_processes = Some(parse_u32(&meta, "max_processes")?);
                }
                k if derive.container_keys().contains(&k) => {
                    errors.spanned(&meta.path, format!("#[zipc({k})] is given twice"));
                    skip_rest(meta.input)?;
                }
                _ => {
                    errors.spanned(
                        &meta.path,
                        format!(
                            "unknown attribute #[zipc({key})] on a #[derive({})] struct; it takes: {}",
                            derive.name(),
                            derive.container_keys().join(", ")
                        ),
                    );
                    skip_rest(meta.input)?;
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    if let Some(k) = krate {
        c.krate = k;
    }
}

fn key_of(meta: &ParseNestedMeta<'_>) -> String {
    match meta.path.get_ident() {
        Some(i) => i.unraw().to_string(),
        None => {
            let path = &meta.path;
            quote::quote!(#path).to_string().replace(' ', "")
        }
    }
}

fn parse_u32(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<(u32, Span)> {
    let input = meta.value()?;
    let wrong = |span| syn::Error::new(span, format!("`{key}` must be an integer literal from 0 to {}", u32::MAX));
    let lit: LitInt = input.parse().map_err(|e| wrong(e.span()))?;
    match lit.base10_parse::<u32>() {
        Ok(v) => Ok((v, lit.span())),
        Err(_) => Err(wrong(lit.span())),
    }
}

fn parse_str(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<LitStr> {
    let input = meta.value()?;
    input.parse().map_err(|e: syn::Error| syn::Error::new(e.span(), format!("`{key}` must be a string literal")))
}

fn field<'a>(derive: Derive, f: &'a syn::Field, errors: &mut Errors) -> Field<'a> {
    let mut field = Field {
        ident: f.ident.as_ref().expect("named field"),
        ty: &f.ty,
        doc: doc(&f.attrs),
        name: None,
        params: Vec::new(),
    };
    for attr in zipc_attributes(&f.attrs) {
        if derive == Derive::ShmType {
            errors.spanned(
                attr,
                "#[derive(ShmType)] takes no field attributes: an element's layout is its fields, as declared",
            );
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            let key = key_of(&meta);
            let Some(ident) = meta.path.get_ident().cloned() else {
                errors.spanned(&meta.path, format!("expected a parameter name like `capacity`, not `{key}`"));
                return skip_rest(meta.input);
            };
            let repeated = key == "name" && field.name.is_some() || field.params.iter().any(|p| p.key == ident);
            if repeated {
                errors.spanned(&meta.path, format!("#[zipc({key})] is given twice"));
                return skip_rest(meta.input);
            }
            if !meta.input.peek(Token![=]) {
                errors.spanned(&meta.path, format!("#[zipc({key})] needs a value: write #[zipc({key} = ...)]"));
                return skip_rest(meta.input);
            }
            if key == "name" {
                field.name = Some(parse_str(&meta, "name")?);
                return Ok(());
            }
            match value(meta.value()?) {
                Ok(value) => field.params.push(Param { key: ident, value }),
                Err(e) => {
                    errors.push(e);
                    skip_rest(meta.input)?;
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    field
}

/// A parameter value: an integer (optionally negative), `true`/`false`, or a string.
fn value(input: ParseStream<'_>) -> syn::Result<Value> {
    let minus: Option<Token![-]> = input.parse()?;
    let expected = "expected a literal value: an integer, `true`/`false` or a string";
    let lit: Lit = match input.parse() {
        Ok(lit) => lit,
        Err(_) => {
            let span = input.span();
            return Err(syn::Error::new(span, expected));
        }
    };
    let out_of_range = |span| syn::Error::new(span, "the value does not fit in 64 bits");
    match (&lit, minus) {
        (Lit::Int(i), None) => {
            let v: u64 = i.base10_parse().map_err(|_| out_of_range(i.span()))?;
            Ok(Value::Int(v as i128))
        }
        (Lit::Int(i), Some(_)) => {
            let v: u64 = i.base10_parse().map_err(|_| out_of_range(i.span()))?;
            if v as i128 > -(i64::MIN as i128) {
                return Err(out_of_range(i.span()));
            }
            Ok(Value::Int(-(v as i128)))
        }
        (Lit::Bool(b), None) => Ok(Value::Bool(b.value)),
        (Lit::Str(s), None) => Ok(Value::Str(s.value())),
        _ => Err(syn::Error::new(lit.span(), expected)),
    }
}
