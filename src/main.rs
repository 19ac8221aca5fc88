fn main() {
    println!("gantry");
}
