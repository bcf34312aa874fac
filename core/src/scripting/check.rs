//! Compiling a script when it is saved or first run: syntax, expression depth, variables
//! (strict: only `ticket`, `user` and the script's own), and calls to functions that exist.

use std::collections::HashSet;

use rhai::{AST, ASTNode, Engine, Expr, Position, Scope, Stmt};

use super::ScriptError;

fn at(pos: Position) -> String {
    format!(
        "line {}, column {}",
        pos.line().unwrap_or(0),
        pos.position().unwrap_or(0)
    )
}

pub fn compile(engine: &Engine, known: &HashSet<String>, source: &str) -> Result<AST, ScriptError> {
    // The names a script may read; bound (read-only) only when it runs.
    let mut scope = Scope::new();
    scope.push("ticket", ());
    scope.push("user", ());
    let ast = engine.compile_with_scope(&scope, source).map_err(|err| {
        ScriptError(format!(
            "The script does not compile: {} ({}).",
            err.0,
            at(err.1)
        ))
    })?;
    let own: HashSet<&str> = ast.iter_functions().map(|f| f.name).collect();
    let mut unknown: Option<(String, Position)> = None;
    ast.walk(&mut |path: &[ASTNode]| {
        let call = match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(call, pos))) => Some((call, pos)),
            // A call standing alone as a statement.
            Some(ASTNode::Stmt(Stmt::FnCall(call, pos))) => Some((call, pos)),
            _ => None,
        };
        if let Some((call, pos)) = call {
            let name = call.name.as_str();
            let is_name = name.starts_with(|c: char| c.is_alphabetic() || c == '_');
            if is_name && !call.is_qualified() && !own.contains(name) && !known.contains(name) {
                unknown = Some((name.to_string(), *pos));
                return false;
            }
        }
        true
    });
    match unknown {
        Some((name, pos)) => Err(ScriptError(format!(
            "The script calls an unknown function '{name}' ({}).",
            at(pos)
        ))),
        None => Ok(ast),
    }
}
