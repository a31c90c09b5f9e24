fn main() {
    connections::start();
}
