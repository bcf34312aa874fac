//! The interactive docs page (`{prefix}/docs`): poem-openapi's RapiDoc page, made our own. It
//! is titled for the product and loads nothing from outside this server: RapiDoc's script is
//! inline, the Google Fonts stylesheet is dropped, RapiDoc is told not to fetch its own fonts
//! (`load-fonts="false"`), and the page uses the reader's system fonts.

const GOOGLE_FONTS: &str = r#"<link href="https://fonts.googleapis.com/css2?family=Open+Sans:wght@300;600&family=Roboto+Mono&display=swap" rel="stylesheet">"#;

/// The page for `document`, from the page poem-openapi rendered for `generated_for`.
pub fn render(generated: &str, generated_for: &str, document: &str) -> String {
    generated
        .replacen(generated_for, document, 1)
        .replacen("<title>RapiDoc</title>", "<title>Escalated API</title>", 1)
        .replacen(GOOGLE_FONTS, "", 1)
        .replacen(r#"id="thedoc""#, r#"id="thedoc" load-fonts="false""#, 1)
        .replacen(
            r#"regular-font="Open Sans""#,
            r#"regular-font="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif""#,
            1,
        )
        .replacen(
            r#"mono-font = "Roboto Mono""#,
            r#"mono-font = "ui-monospace, Menlo, Consolas, monospace""#,
            1,
        )
}
