//! `woodwork-actors`: the command line.

fn main() {
    println!("woodwork-actors");
}
