#include "cmd/cli.h"

int main(int argc, char** argv) { return ssestitch::cmd::run(argc, argv); }
