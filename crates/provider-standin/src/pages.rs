//! The stand-in's own pages. Every interpolated value is escaped.

/// A sign-in and consent page. Every dialect shows one; the wording is the dialect's.
pub(crate) struct ConsentForm {
    /// Whose sign-in this is: "Stripe", or a realm's name.
    pub provider: String,
    /// Where the form posts.
    pub action: String,
    /// The client asking, shown in bold before `request`.
    pub client_name: String,
    /// What it asks for, e.g. "would like read-only access to your Stripe account."
    pub request: String,
    pub allow_label: String,
    /// Echoed back with the decision and validated again; empty values are left out.
    pub hidden: Vec<(&'static str, String)>,
    pub email: String,
    /// Accounts to suggest in the demo (their password is `DEMO_PASSWORD`).
    pub demo_emails: Vec<String>,
}

pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f6f9fc;color:#1a1f36;margin:0}\
main{max-width:26rem;margin:3rem auto;background:#fff;border-radius:8px;padding:2rem;box-shadow:0 2px 8px #0002}\
.banner{background:#fff4d6;border:1px solid #e0c36a;padding:.5rem .75rem;border-radius:6px;font-size:.85rem}\
label{display:block;margin-top:1rem;font-weight:600}input{width:100%;box-sizing:border-box;padding:.5rem;margin-top:.25rem;font:inherit}\
.actions{display:flex;gap:.75rem;margin-top:1.5rem}button{font:inherit;padding:.6rem 1rem;border-radius:6px;border:1px solid #635bff;cursor:pointer}\
.allow{background:#635bff;color:#fff}.deny{background:#fff;color:#635bff}.error{color:#c0123c;font-weight:600}code{font-size:.85rem}";

fn page(provider: &str, title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>{STYLE}</style></head><body><main>\
<p class=\"banner\">Local {provider} stand-in: no data leaves this machine.</p>{body}</main></body></html>",
        title = escape(title),
        provider = escape(provider),
    )
}

pub(crate) fn consent_page(form: &ConsentForm, error: Option<&str>) -> String {
    let hidden = form
        .hidden
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", escape(value)))
        .collect::<String>();
    let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))).unwrap_or_default();
    let demo = match form.demo_emails.as_slice() {
        [] => String::new(),
        emails => format!(
            "<p><small>Demo accounts: {}, password <code>{}</code>.</small></p>",
            emails.iter().map(|e| format!("<code>{}</code>", escape(e))).collect::<Vec<_>>().join(" or "),
            crate::DEMO_PASSWORD,
        ),
    };
    // Every dialect's heading reads "Sign in to connect": the browser tests wait for it.
    page(
        &form.provider,
        &format!("Sign in to {}", form.provider),
        &format!(
            "<h1>Sign in to connect</h1>\
<p><strong>{client}</strong> {request}</p>{error}\
<form method=\"post\" action=\"{action}\">{hidden}\
<label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" value=\"{email}\">\
<label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\">\
<div class=\"actions\"><button class=\"allow\" id=\"allow\" name=\"decision\" value=\"allow\" type=\"submit\">{allow}</button>\
<button class=\"deny\" id=\"deny\" name=\"decision\" value=\"deny\" type=\"submit\">Cancel</button></div></form>{demo}",
            client = escape(&form.client_name),
            request = escape(&form.request),
            action = escape(&form.action),
            allow = escape(&form.allow_label),
            email = escape(&form.email),
        ),
    )
}

pub(crate) fn error_page(provider: &str, message: &str) -> String {
    page(provider, &format!("{provider}: invalid request"), &format!("<h1>Invalid request</h1><p class=\"error\">{}</p>", escape(message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_in_every_interpolated_value() {
        assert_eq!(escape(r#"<script>"x"&'y'</script>"#), "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;");
        let form = ConsentForm {
            provider: "<i>realm</i>".into(),
            action: "/oauth2/\"x/authorize".into(),
            client_name: "<b>evil</b>".into(),
            request: "<u>asks</u>".into(),
            allow_label: "<em>ok</em>".into(),
            hidden: vec![("state", "\"><script>alert(1)</script>".into())],
            email: String::new(),
            demo_emails: vec!["<s>@x".into()],
        };
        let html = consent_page(&form, Some("<p>bad</p>"));
        for markup in ["<script>alert(1)", "<b>evil</b>", "<i>realm</i>", "<u>asks</u>", "<em>ok</em>", "\"x/", "<s>@x", "<p>bad"] {
            assert!(!html.contains(markup), "{markup} unescaped");
        }
    }
}
