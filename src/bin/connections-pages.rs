//! The pages bundle: every page, handed the mount by the table page's bundle (see `split`).

fn main() {
    connections::start_pages();
}
