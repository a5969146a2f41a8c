/* ptrace's register block in the sampler's layout (enum ctop_reg), shared by
 * the thread scan and the ptrace sampler. */
#include <string.h>
#include <sys/user.h>

#include "common.h"

void regs_from_ptrace(uint64_t *r, const void *user_regs_struct)
{
	const struct user_regs_struct *u = user_regs_struct;
	memset(r, 0, CTOP_NREGS * sizeof *r);
	r[CTOP_REG_AX] = u->rax;  r[CTOP_REG_BX] = u->rbx;
	r[CTOP_REG_CX] = u->rcx;  r[CTOP_REG_DX] = u->rdx;
	r[CTOP_REG_SI] = u->rsi;  r[CTOP_REG_DI] = u->rdi;
	r[CTOP_REG_BP] = u->rbp;  r[CTOP_REG_SP] = u->rsp;
	r[CTOP_REG_IP] = u->rip;  r[CTOP_REG_FLAGS] = u->eflags;
	r[CTOP_REG_CS] = u->cs;   r[CTOP_REG_SS] = u->ss;
	r[CTOP_REG_DS] = u->ds;   r[CTOP_REG_ES] = u->es;
	r[CTOP_REG_FS] = u->fs;   r[CTOP_REG_GS] = u->gs;
	r[CTOP_REG_R8] = u->r8;   r[CTOP_REG_R9] = u->r9;
	r[CTOP_REG_R10] = u->r10; r[CTOP_REG_R11] = u->r11;
	r[CTOP_REG_R12] = u->r12; r[CTOP_REG_R13] = u->r13;
	r[CTOP_REG_R14] = u->r14; r[CTOP_REG_R15] = u->r15;
}
