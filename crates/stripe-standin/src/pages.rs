//! The stand-in's own pages. Every interpolated value is escaped.

pub(crate) struct ConsentForm {
    pub platform_name: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: String,
    pub code_challenge: String,
    pub code_challenge_method: String,
    pub email: String,
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

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>{STYLE}</style></head><body><main>\
<p class=\"banner\">Local Stripe stand-in: no data leaves this machine.</p>{body}</main></body></html>",
        title = escape(title)
    )
}

pub(crate) fn consent_page(form: &ConsentForm, error: Option<&str>) -> String {
    let hidden = [
        ("client_id", &form.client_id),
        ("redirect_uri", &form.redirect_uri),
        ("scope", &form.scope),
        ("state", &form.state),
        ("code_challenge", &form.code_challenge),
        ("code_challenge_method", &form.code_challenge_method),
    ]
    .iter()
    .filter(|(_, value)| !value.is_empty())
    .map(|(name, value)| format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", escape(value)))
    .collect::<String>();
    let access = if form.scope == "read_write" { "read and write" } else { "read-only" };
    let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))).unwrap_or_default();
    page(
        "Sign in to Stripe",
        &format!(
            "<h1>Sign in to connect</h1>\
<p><strong>{platform}</strong> would like {access} access to your Stripe account.</p>{error}\
<form method=\"post\" action=\"/oauth/authorize\">{hidden}\
<label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" value=\"{email}\">\
<label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\">\
<div class=\"actions\"><button class=\"allow\" id=\"allow\" name=\"decision\" value=\"allow\" type=\"submit\">Connect my Stripe account</button>\
<button class=\"deny\" id=\"deny\" name=\"decision\" value=\"deny\" type=\"submit\">Cancel</button></div></form>\
<p><small>Demo accounts: <code>{demo_email}</code> or <code>finance@globex.test</code>, password <code>{demo_password}</code>.</small></p>",
            platform = escape(&form.platform_name),
            email = escape(&form.email),
            demo_email = crate::DEMO_EMAIL,
            demo_password = crate::DEMO_PASSWORD,
        ),
    )
}

pub(crate) fn error_page(message: &str) -> String {
    page("Stripe: invalid request", &format!("<h1>Invalid request</h1><p class=\"error\">{}</p>", escape(message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_in_every_interpolated_value() {
        assert_eq!(escape(r#"<script>"x"&'y'</script>"#), "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;");
        let form = ConsentForm {
            platform_name: "<b>evil</b>".into(),
            client_id: "ca_1".into(),
            redirect_uri: "http://x/cb".into(),
            scope: "read_only".into(),
            state: "\"><script>alert(1)</script>".into(),
            code_challenge: String::new(),
            code_challenge_method: String::new(),
            email: String::new(),
        };
        let html = consent_page(&form, None);
        assert!(!html.contains("<script>alert(1)"));
        assert!(!html.contains("<b>evil</b>"));
    }
}
