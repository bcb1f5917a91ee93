const j=440,F=[440],Z={3104:((N,O,m)=>{m.d(O,{t:()=>x});var f=m(9114),v=m(1661),l=m(7521);function h(k){return l.xf.find(S=>S.name===k)?.default??""}function x(k,S={}){return{privateKey:k("ssh-private-key"),knownHosts:k("ssh-known-hosts"),acceptNewHostKeys:(0,f.q6)("ssh-accept-new-host-keys",k("ssh-accept-new-host-keys"),h("ssh-accept-new-host-keys")==="true"),extraOptions:(0,v.K_)(k("ssh-options")),sudo:(0,f.nL)("sudo",k("sudo"),["auto","true","false"],h("sudo")),connectTimeout:(0,f.EJ)("ssh-connect-timeout",k("ssh-connect-timeout"),Number(h("ssh-connect-timeout")),{max:600}),allowUserKnownHosts:S.terminal===!0}}}),9145:((N,O,m)=>{m.d(O,{$W:()=>W,jJ:()=>L,o9:()=>M});var f=m(9114);const v=[[/^would stop the following units(?: as well)?:/,"stop"],[/^would NOT stop the following changed units(?: as well)?:/,"notStopped"],[/^would NOT restart the following changed units(?: as well)?:/,"notStopped"],[/^would reload the following units:/,"reload"],[/^would restart the following units:/,"restart"],[/^would start the following units:/,"start"],[/^stopping the following units(?: as well)?:/,"stop"],[/^NOT restarting the following changed units(?: as well)?:/,"skipped"],[/^reloading the following units:/,"reload"],[/^restarting the following units:/,"restart"],[/^starting the following units:/,"start"],[/^the following new units were started:/,"newlyStarted"],[/^warning: the following units failed:/,"failed"],[/^warning: the following user units failed:/,"failedUserUnits"]],l=/^warning: user activation for ([A-Za-z0-9._@-]{1,64}\$?) failed$/,h=[/^would activate the configuration\.\.\.$/,/^activating the configuration\.\.\.$/],x=[/^would restart systemd$/,/^restarting systemd\.\.\.$/],k="service|socket|target|timer|mount|path|slice|scope|swap|automount|device",S=new RegExp(`^[A-Za-z0-9:_.@\\\\-]+\\.(?:${k})$`);function M(w){return w.length<=256&&S.test(w)}function L(w){const p={stop:new Set,restart:new Set,reload:new Set,start:new Set,notStopped:new Set,skipped:new Set,newlyStarted:new Set,failed:new Set,failedUserUnits:new Set},A=new Set;let I=!1;const E=[],T=(0,f.aJ)(String(w??"")).split(/\r?\n|\r/);for(let t=0;t<T.length;t++){const n=T[t].trim();if(n===""||h.some(s=>s.test(n)))continue;if(x.some(s=>s.test(n))){I=!0;continue}const g=l.exec(n);if(g){A.add(g[1]);continue}const $=v.find(([s])=>s.test(n));if(!$){E.push(n);continue}const[r,u]=$;let o=n.replace(r,"");for(;o.trim().endsWith(",")&&t+1<T.length&&T[t+1].trim()!=="";)t++,o+=" "+T[t].trim();let c=!1;for(const s of o.split(",")){const i=s.trim();i!==""&&(M(i)?p[u].add(i):c=!0)}c&&E.push(n)}const b=t=>[...t].sort();return{stop:b(p.stop),restart:b(p.restart),reload:b(p.reload),start:b(p.start),notStopped:b(p.notStopped),skipped:b(p.skipped),newlyStarted:b(p.newlyStarted),failed:b(p.failed),failedUserUnits:b(p.failedUserUnits),failedUsers:b(A),restartSystemd:I,lines:E}}function W(w){const p=[];return w.failed.length&&p.push(`units failed: ${w.failed.join(", ")}`),w.failedUserUnits.length&&p.push(`user units failed: ${w.failedUserUnits.join(", ")}`),w.failedUsers.length&&p.push(`user activation failed for ${w.failedUsers.join(", ")}`),p.length?p.join("; "):"units failed: see the log"}}),6045:((N,O,m)=>{m.d(O,{G:()=>o});var f=m(4296),v=m(9978),l=m(1661);const h="/run/nix-deploy",x="/nix/var/nix/profiles/system",k=`
restore_profile() {
  p=/nix/var/nix/profiles
  cur=$(readlink "$p/system" 2>/dev/null || true)
  if [ -n "$2" ] && [ -L "$p/$2" ] && [ "$(readlink -f "$p/$2")" = "$1" ]; then
    ln -sfn "$2" "$p/system.nix-deploy-tmp" && mv -T "$p/system.nix-deploy-tmp" "$p/system" || return 1
    if [ "$3" = delete ] && [ -n "$cur" ] && [ "$cur" != "$2" ] && [ "$(readlink -f "$p/$cur")" != "$1" ]; then
      n=\${cur#system-}; n=\${n%-link}
      nix-env -p "$p/system" --delete-generations "$n" >/dev/null 2>&1 || true
    fi
  else
    nix-env -p "$p/system" --set "$1" || return 1
  fi
}
`,S=`
probe_state() {
  want_path=$1
  cur=$(readlink -f /run/current-system 2>/dev/null || true)
  [ -n "$cur" ] && [ -e "$cur" ] || cur=
  gen=$(readlink ${x} 2>/dev/null || true)
  prof=$(readlink -f ${x} 2>/dev/null || true)
  boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || true)
  sd=no; if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then sd=yes; fi
  fl=no; if command -v flock >/dev/null 2>&1; then fl=yes; fi
  want=no; if [ -n "$want_path" ] && [ -e "$want_path" ]; then want=yes; fi
  act=no; if [ -n "$cur" ] && [ -x "$cur/bin/switch-to-configuration" ]; then act=yes; fi
  printf 'current=%s\\ngeneration=%s\\nprofile=%s\\nboot=%s\\nsystemd=%s\\nflock=%s\\nhas-wanted=%s\\nactivatable=%s\\n' "$cur" "$gen" "$prof" "$boot" "$sd" "$fl" "$want" "$act"
}
`,M=S+`
probe_state "$1"
`,L=S+`
d=$1
mkdir -p "$d" && chmod 700 "$d" || exit 70
exec 9>>"$d/lock" || exit 70
if ! flock -n 9; then
  echo "nix-deploy-lock-busy $(cat "$d/lock.info" 2>/dev/null | head -c 300 | tr '\\n' ' ')"
  exit 75
fi
printf '%s\\n' "$2" > "$d/lock.info"
probe_state "$4"
echo nix-deploy-lock-acquired
timeout "$3" cat > /dev/null
rm -f "$d/lock.info"
`,W=k+`
d=$1; id=$2
armed=$(cat "$d/armed-$id" 2>/dev/null || date +%s)
while :; do
  [ -e "$d/confirm-$id" ] && exit 0
  now=$(date +%s)
  if [ -s "$d/deadline-$id" ]; then deadline=$(cat "$d/deadline-$id")
  elif [ -s "$d/switch-$id.end" ]; then deadline=$(( $(cat "$d/switch-$id.end") + $3 ))
  else deadline=$(( armed + $6 + $3 )); fi
  [ "$now" -ge "$deadline" ] && break
  sleep 1
done
exec 7>"$d/wd-$id.lock"; flock 7
[ -e "$d/confirm-$id" ] && exit 0
exec >"$d/rollback-$id.log" 2>&1
flock -u 7
echo "nix-deploy: not confirmed by $(date -u +%Y-%m-%dT%H:%M:%SZ); restoring \${4:-nothing}"
if [ -z "$4" ]; then echo 3 > "$d/rollback-$id.exit"; exit 3; fi
# Wait for a running activation to end first (it may be the one that cut the connection).
n=0; while [ -e "$d/switch-$id.log" ] && [ ! -s "$d/switch-$id.exit" ] && [ $n -lt 600 ]; do sleep 1; n=$((n+1)); done
if [ "$5" != test ]; then restore_profile "$4" "$7" delete || { echo 1 > "$d/rollback-$id.exit"; exit 1; }; fi
if [ "$5" = boot ]; then act=boot; elif [ "$5" = test ]; then act=test; else act=switch; fi
"$4/bin/switch-to-configuration" "$act"
echo $? > "$d/rollback-$id.exit"
`,w=`
d=$1; id=$2
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/confirm-$id" "$d/deadline-$id" "$d/rollback-$id.log" "$d/rollback-$id.exit"
wd=$d/watchdog-$id.sh
(umask 077 && printf '%s
' "$7" > "$wd.tmp") && mv -f "$wd.tmp" "$wd" || exit 70
date +%s > "$d/armed-$id"
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --unit "nix-deploy-watchdog-$id" --collect --quiet --property=Type=exec --setenv=PATH="$PATH" -- /bin/sh "$wd" "$1" "$2" "$3" "$4" "$5" "$6" "$8" || exit 71
else
  setsid /bin/sh "$wd" "$1" "$2" "$3" "$4" "$5" "$6" "$8" </dev/null >/dev/null 2>&1 &
  echo $! > "$d/watchdog-$id.pid"
fi
echo armed
`,p=k+`
d=$1; id=$2; top=$3; act=$4
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/switch-$id.exit" "$d/switch-$id.end"
: > "$d/switch-$id.log"
if [ "$5" = set ]; then
  nix-env -p ${x} --set "$top" || { echo "nix-deploy: could not set the system profile" >&2; exit 90; }
elif [ "$5" = restore ] || [ "$5" = restore-delete ]; then
  restore_profile "$top" "$7" "\${5#restore-}" || { echo "nix-deploy: could not restore the system profile" >&2; exit 90; }
fi
echo "nix-deploy-profile $(readlink ${x} 2>/dev/null)"
# The detached job, as a file (not inside the unit: see the top of this file).
job=$d/switch-$id.sh
(umask 077 && printf '%s
' '"$1/bin/switch-to-configuration" "$2" >"$3" 2>&1; rc=$?; date +%s >"$4.end"; echo $rc >"$4.exit"' > "$job.tmp") && mv -f "$job.tmp" "$job" || exit 70
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --unit "nix-deploy-switch-$id" --collect --quiet --property=Type=exec --setenv=PATH="$PATH" --setenv=LOCALE_ARCHIVE="\${LOCALE_ARCHIVE:-}" -- /bin/sh "$job" "$top" "$act" "$d/switch-$id.log" "$d/switch-$id" || exit 71
else
  setsid /bin/sh "$job" "$top" "$act" "$d/switch-$id.log" "$d/switch-$id" </dev/null >/dev/null 2>&1 &
fi
echo nix-deploy-activation-started
`+A();function A(){return`
n=0; limit=$(( $6 * 5 ))
while [ ! -s "$d/switch-$id.exit" ]; do
  sleep 0.2; n=$((n+1))
  if [ $n -ge $limit ]; then echo "nix-deploy: activation still running after $6 s" >&2; exit 91; fi
done
cat "$d/switch-$id.log" >&2
exit "$(cat "$d/switch-$id.exit")"
`}const I=`
d=$1; id=$2
[ -e "$d/switch-$id.log" ] || { echo "nix-deploy: no activation $id on this host" >&2; exit 93; }
`+A(),E=`
d=$1; id=$2; n=0
while read -r beat; do
  [ -e "$d/rollback-$id.log" ] && { echo nix-deploy-fired; exit 92; }
  [ -e "$d/confirm-$id" ] && exit 0
  now=$(date +%s)
  echo $(( now + $3 )) > "$d/deadline-$id.tmp" && mv -f "$d/deadline-$id.tmp" "$d/deadline-$id"
  n=$((n+1)); echo "$n $now" > "$d/beats-$id"
  echo "nix-deploy-beat $beat"
done
`,T=`
d=$1; id=$2
exec 7>"$d/wd-$id.lock"; flock 7
if [ -e "$d/rollback-$id.log" ]; then echo fired; exit 92; fi
touch "$d/confirm-$id"
flock -u 7
if [ -s "$d/watchdog-$id.pid" ]; then kill "$(cat "$d/watchdog-$id.pid")" 2>/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl stop "nix-deploy-watchdog-$id.service" >/dev/null 2>&1 || true; fi
rm -f "$d/watchdog-$id.pid" "$d/watchdog-$id.sh" "$d/armed-$id" "$d/deadline-$id" "$d/wd-$id.lock"
echo confirmed
`,b=`
d=$1; id=$2
exec 7>"$d/wd-$id.lock"; flock 7
if [ -e "$d/rollback-$id.log" ]; then
  flock -u 7
  n=0; while [ ! -s "$d/rollback-$id.exit" ] && [ $n -lt 6000 ]; do sleep 0.1; n=$((n+1)); done
  echo "fired $(cat "$d/rollback-$id.exit" 2>/dev/null || echo running)"
  exit 0
fi
touch "$d/confirm-$id"
flock -u 7
if [ -s "$d/watchdog-$id.pid" ]; then kill "$(cat "$d/watchdog-$id.pid")" 2>/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl stop "nix-deploy-watchdog-$id.service" >/dev/null 2>&1 || true; fi
echo disarmed
`,t=`
d=$1; id=$2
if [ -e "$d/rollback-$id.log" ]; then
  echo "fired=$(cat "$d/rollback-$id.exit" 2>/dev/null || echo running)"
  sed 's/^/log=/' "$d/rollback-$id.log" | tail -n 20
else
  echo fired=no
fi
`,n=`
cd /nix/var/nix/profiles 2>/dev/null || exit 0
for l in system-*-link; do
  [ -L "$l" ] || continue
  n=\${l#system-}; n=\${n%-link}
  printf '%s %s\\n' "$n" "$(readlink -f "$l")"
done
`,g=`
for side in current booted; do
  p=$(readlink -f "/run/$side-system" 2>/dev/null || true)
  [ -n "$p" ] && [ -e "$p" ] || p=
  printf '%s=%s\\n' "$side" "$p"
  for part in kernel initrd kernel-modules; do
    v=
    if [ -n "$p" ]; then v=$(readlink -f "$p/$part" 2>/dev/null || true); fi
    printf '%s-%s=%s\\n' "$side" "$part" "$v"
  done
done
`,$=`
setsid /bin/sh -c 'sleep 1; if [ -d /run/systemd/system ]; then systemctl reboot; else reboot; fi' </dev/null >/dev/null 2>&1 &
echo rebooting
`,r=6e4;function u(c){const s=/system-(\d+)-link$/.exec(c.trim());return s?Number(s[1]):null}class o{session;remote;logger;constructor(s,i,e){this.session=s,this.remote=i,this.logger=e}get host(){return this.remote.host}script(s,i,e,d,a=r,y=!0){return(0,l.mW)(this.session,this.remote,s,i,{timeoutMs:a,phase:e,what:d,logger:this.logger,check:y})}async connect(s,i){const e=(this.session.settings.connectTimeout+30)*1e3,d=await this.session.connect(this.remote,{timeoutMs:e,logger:this.logger});if(d)throw(0,l.vU)(this.remote,d,{phase:s,what:i,timeoutMs:e})}async probe(s,i="probe"){const e=await this.script(M,[s],i,"reading the current system");return this.parseProbe(e.stdout.split(`
`),i)}parseProbe(s,i){const e=new Map;for(const d of s){const a=d.indexOf("=");a>0&&e.set(d.slice(0,a),d.slice(a+1).trim())}if(!e.has("current"))throw(0,f.FT)({host:this.host,phase:i,kind:"host-state"},"the host's answer could not be read (is its login shell POSIX?)");return{current:e.get("current")||null,generation:u(e.get("generation")??""),generationLink:/^system-\d+-link$/.test(e.get("generation")??"")?e.get("generation"):null,profile:e.get("profile")||null,bootId:e.get("boot")??"",systemd:e.get("systemd")==="yes",flock:e.get("flock")==="yes",hasWanted:e.get("has-wanted")==="yes",activatable:e.get("activatable")==="yes"}}async lock(s,i,e=""){const a=[...this.session.needsSudo(this.remote)?["sudo","-n","--"]:[],"sh","-c",L,"nix-deploy",h,s,String(i),e],y=(0,v.kp)(this.session.sshArgv(this.remote,a.map(v.ZL).join(" ")),{timeoutMs:(i+60)*1e3,logger:this.logger}),P=await y.waitForLine(U=>U.startsWith("nix-deploy-lock-"),6e4);if(P==="nix-deploy-lock-acquired")return{state:this.parseProbe(y.lines,"lock"),release:async()=>{y.closeInput(),await Promise.race([y.done,new Promise(R=>setTimeout(R,5e3,null))])===null&&y.kill()}};y.kill();const C=await y.done,_={host:this.host,phase:"lock"};if(P?.startsWith("nix-deploy-lock-busy")){const U=P.slice(20).trim();throw(0,f.FT)({..._,kind:"busy"},`another deploy is running on this host${U?` (${U})`:""}; try again when it has finished`)}if(C.exitCode===l.M2)throw(0,f.FT)({..._,kind:"connection"},`could not connect: ${(0,l.eG)(C.stderr)}`);const H=C.stderr.trim().split(`
`).pop()??"";throw(0,f.FT)({..._,kind:"command",detail:C.stderr},`could not take the deploy lock${C.exitCode===127?" (flock is missing on the host)":H?`: ${H}`:""}`)}async armWatchdog(s,i,e,d,a,y){const P=[h,s,String(i),e??"",a,String(y),W,d??""];await this.script(w,P,"arm","arming the rollback watchdog")}async activate(s,i,e,d,a,y,P=""){const C=[h,s,i,e,d,String(a),P],_=await(0,l.mW)(this.session,this.remote,p,C,{timeoutMs:(a+30)*1e3,phase:"activate",what:"activating",logger:this.logger,check:!1,onStderrLine:y}),H=_.stdout.split(`
`).find(D=>D.startsWith("nix-deploy-profile ")),U=_.stdout.includes("nix-deploy-activation-started"),R=_.exitCode===l.M2||_.timedOut||U&&_.exitCode===null;return{exitCode:R?null:_.exitCode,output:_.stderr,connectionLost:R,profileLink:H?H.slice(19).trim():null}}async waitActivation(s,i){const e=await(0,l.mW)(this.session,this.remote,I,[h,s,"","","",String(i)],{timeoutMs:(i+30)*1e3,phase:"activate",what:"waiting for the activation",logger:this.logger,check:!1}),d=e.exitCode===l.M2||e.timedOut;return{exitCode:d?null:e.exitCode,output:e.stderr,connectionLost:d}}heartbeatChannel(s,i,e){const a=[...this.session.needsSudo(this.remote)?["sudo","-n","--"]:[],"sh","-c",E,"nix-deploy",h,s,String(i)];return(0,v.kp)(this.session.sshArgv(this.remote,a.map(v.ZL).join(" ")),{timeoutMs:e*1e3,logger:this.logger})}freshLogin(s){return(0,l.mW)(this.session,this.remote,"true",[],{timeoutMs:r,phase:s,what:"a new SSH connection to the host",privileged:!1,check:!1,fresh:!0,logger:this.logger})}async confirm(s){const i=await this.script(T,[h,s],"confirm","confirming the deployment",r,!1);if(i.exitCode===0)return"confirmed";if(i.exitCode===92)return"fired";throw(0,f.FT)({host:this.host,phase:"confirm",kind:i.exitCode===l.M2?"connection":"command"},i.exitCode===l.M2?`confirming failed: ${(0,l.eG)(i.stderr)}`:`confirming failed with exit code ${i.exitCode}`)}async disarm(s){const e=(await this.script(b,[h,s],"rollback","disarming the watchdog",10*r)).stdout.trim().split(`
`).pop()??"";return e.startsWith("fired")?{fired:!0,exit:e.slice(6).trim()}:{fired:!1,exit:""}}async watchdogState(s){const e=(await this.script(t,[h,s],"rollback","reading the watchdog",r)).stdout.split(`
`),d=(e.find(a=>a.startsWith("fired="))??"fired=no").slice(6);return{fired:d!=="no",exit:d==="no"?"":d,log:e.filter(a=>a.startsWith("log=")).map(a=>a.slice(4))}}async generations(s="resolve"){return(await this.script(n,[],s,"listing the system generations")).stdout.split(`
`).map(e=>/^(\d+) (\/\S+)$/.exec(e.trim())).filter(e=>e!==null).map(e=>({generation:Number(e[1]),storePath:e[2]})).sort((e,d)=>e.generation-d.generation)}async systems(s="read"){const i=await(0,l.mW)(this.session,this.remote,g,[],{timeoutMs:r,phase:s,what:"reading /run/current-system and /run/booted-system",logger:this.logger,privileged:!1}),e=new Map;for(const a of i.stdout.split(`
`)){const y=a.indexOf("=");y>0&&e.set(a.slice(0,y),a.slice(y+1).trim())}if(!e.has("current"))throw(0,f.FT)({host:this.host,phase:s,kind:"host-state"},"the host's answer could not be read (is its login shell POSIX?)");const d=a=>({kernel:e.get(`${a}-kernel`)||null,initrd:e.get(`${a}-initrd`)||null,modules:e.get(`${a}-kernel-modules`)||null});return{current:e.get("current")||null,booted:e.get("booted")||null,currentBoot:d("current"),bootedBoot:d("booted")}}async reboot(){await this.script($,[],"reboot","rebooting the host")}async waitForBoot(s,i){const e=Date.now()+i*1e3;for(;Date.now()<e;){await new Promise(d=>setTimeout(d,1e3));try{const d=await this.probe("","reboot");if(d.bootId&&d.bootId!==s)return d}catch{}}return null}}}),2426:((N,O,m)=>{m.d(O,{Fm:()=>M,UD:()=>b,zw:()=>k});var f=m(4296),v=m(6224),l=m(4294);const h=`cs: builtins.mapAttrs (name: c:
  let
    try = v: let r = builtins.tryEval v; in if r.success then r.value else null;
    cfg = c.config or {};
    dep = try (cfg.deployment or null);
    str = v: if builtins.isString v then v else null;
  in {
    hostName = str (try (cfg.networking.hostName or null));
    fqdn = str (try (cfg.networking.fqdn or null));
    system = str (try (cfg.nixpkgs.hostPlatform.system or cfg.nixpkgs.system or c.pkgs.stdenv.hostPlatform.system or null));
    targetHost = if dep == null then null else str (try (dep.targetHost or null));
    targetUser = if dep == null then null else str (try (dep.targetUser or null));
    targetPort = if dep == null then null else (let p = try (dep.targetPort or null); in if builtins.isInt p then p else null);
    tags = if dep == null then [] else (let t = try (dep.tags or []); in if builtins.isList t then builtins.filter builtins.isString t else []);
  }) cs`,x=`d:
  let
    str = v: if builtins.isString v then v else null;
    opts = v: if builtins.isList v then builtins.filter builtins.isString v else [];
  in {
    sshUser = str (d.sshUser or null);
    sshOpts = opts (d.sshOpts or []);
    nodes = builtins.mapAttrs (n: v: {
      hostname = str (v.hostname or null);
      sshUser = str (v.sshUser or null);
      user = str (v.user or null);
      sshOpts = opts (v.sshOpts or []);
    }) (d.nodes or {});
  }`;async function k(t,n={}){const g=await(0,v.g1)(`${t}#nixosConfigurations`,{apply:h,logger:n.logger,cwd:n.cwd,phase:"evaluate",what:`evaluating the hosts of '${t}'`});if(g===void 0)throw new f.lZ(`The flake '${t}' has no nixosConfigurations output, so it has no hosts.`,{phase:"evaluate",input:"flake"});const $=await(0,v.g1)(`${t}#deploy`,{apply:x,logger:n.logger,cwd:n.cwd,phase:"evaluate",what:`evaluating deploy.nodes of '${t}'`});return Object.keys(g).sort().map(r=>S(r,g[r],$))}function S(t,n,g){(0,l.Eo)(t,"A nixosConfigurations attribute name");const $=Array.isArray(n.tags)?n.tags:[];for(const r of $)if(!/^[A-Za-z0-9._-]{1,64}$/.test(r))throw new f.lZ(`Host ${t} has an invalid tag in deployment.tags (letters, digits, '.', '_' and '-' only).`,{host:t,phase:"evaluate"});try{return W(t,n.system),{name:t,system:n.system,hostName:n.hostName,fqdn:n.fqdn,tags:$,...L(t,n,g)}}catch(r){if(!(r instanceof f.lZ))throw r;return{name:t,system:n.system,hostName:n.hostName,fqdn:n.fqdn,tags:$,target:null,targetError:r,targetSource:"",sshOptions:[]}}}function M(t){if(t.target)return t.target;throw t.targetError??new f.lZ(`Host ${t.name} has no SSH target.`,{host:t.name})}function L(t,n,g){const $=g?.nodes?.[t];let r,u,o=[];if($?.hostname){u=`Host ${t}'s deploy.nodes.${t}.hostname`;const c=$.sshUser??g?.sshUser??null;r=(0,l.hu)(c?`${c}@${w($.hostname)}`:w($.hostname),u);const s=[...p(g?.sshOpts),...p($.sshOpts)];o=I(s,`deploy.nodes.${t}.sshOpts`,t);const i=o.indexOf("-p");i>=0&&(r={...r,port:Number(o[i+1])},o=[...o.slice(0,i),...o.slice(i+2)])}else if(n.targetHost){u=`Host ${t}'s config.deployment.targetHost`;let c=w(n.targetHost);n.targetUser&&(c=`${n.targetUser}@${c}`),n.targetPort&&(c=`${c}:${n.targetPort}`),r=(0,l.hu)(c,u)}else n.fqdn?(u=`Host ${t}'s config.networking.fqdn`,r=(0,l.hu)(n.fqdn,u)):n.hostName?(u=`Host ${t}'s config.networking.hostName`,r=(0,l.hu)(n.hostName,u)):(u=`Host ${t}'s attribute name`,r=(0,l.hu)(t,u));return{target:r,targetSource:u,sshOptions:o}}function W(t,n){if(!(n===null||/^[A-Za-z0-9_]{1,32}(?:-[A-Za-z0-9_]{1,32}){1,3}$/.test(n)))throw new f.lZ(`Host ${t}'s nixpkgs.hostPlatform.system is ${T(n)}, which is not a Nix system name such as x86_64-linux.`,{host:t,phase:"evaluate"})}function w(t){return t.includes(":")&&!t.startsWith("[")?`[${t}]`:t}function p(t){return Array.isArray(t)?t.filter(n=>typeof n=="string"):[]}const A=new Set(["port","connecttimeout","connectionattempts","serveraliveinterval","serveralivecountmax","compression","ipqos","addressfamily","tcpkeepalive"]);function I(t,n,g){const $=[],r=(u,o)=>{throw new f.lZ(`Host ${g}: ${n} contains the ssh option '${T(u)}', which is not allowed from flake data (${o}); pass it through the workflow's 'ssh-options' input instead.`,{host:g,phase:"evaluate"})};for(let u=0;u<t.length;u++){const o=t[u];if(o==="-4"||o==="-6"||o==="-C")$.push(o);else if(o==="-p"||o.startsWith("-p")){const c=o==="-p"?t[++u]:o.slice(2);(!c||!E(c))&&r(`${o} ${c??""}`.trim(),"the port must be a number from 1 to 65535"),$.push("-p",c)}else if(o==="-J"||o.startsWith("-J"))r(o,"a jump host would be reached without the pinned key and known hosts");else if(o==="-o"||o.startsWith("-o")){const c=o==="-o"?t[++u]:o.slice(2),s=/^([A-Za-z]+)\s*[= ]\s*([A-Za-z0-9@._:[\]-]{1,255})$/.exec(c??"");s||r(c??o,"expected -o Key=Value"),A.has(s[1].toLowerCase())||r(`-o${c}`,`'${s[1]}' can run commands, reach other hosts or weaken host key checking`),s[2].startsWith("-")&&r(`-o${c}`,"a value may not start with -"),s[1].toLowerCase()==="port"&&!E(s[2])&&r(`-o${c}`,"the port must be a number from 1 to 65535"),$.push("-o",`${s[1]}=${s[2]}`)}else r(o,"only -p, -4, -6, -C and a few -o options are accepted")}return $}function E(t){return/^[1-9][0-9]{0,4}$/.test(t)&&Number(t)<=65535}function T(t){const n=JSON.stringify(t).slice(1,-1);return n.length>60?`${n.slice(0,57)}...`:n}async function b(t,n,g={}){for(const o of n)(0,l.Eo)(o,`host '${o}'`);const r=`cs: builtins.listToAttrs (map (n: { name = n; value = cs.\${n}.config.system.build.toplevel.drvPath; }) (builtins.filter (n: cs ? \${n}) ${`[ ${n.map(v.z7).join(" ")} ]`}))`;return await(0,v.g1)(`${t}#nixosConfigurations`,{apply:r,logger:g.logger,cwd:g.cwd,phase:g.phase??"evaluate",what:`evaluating the toplevel derivations of ${n.length} host(s) in '${t}'`})??{}}}),6228:((N,O,m)=>{m.d(O,{L:()=>v,a:()=>f});function f(l){if(l<1e3)return`${l} ms`;const h=l/1e3;if(h<60)return`${h.toFixed(1)} s`;const x=Math.floor(h/60);return`${x} min ${Math.round(h-x*60)} s`}function v(l,h,x=`${h}s`){return`${l} ${l===1?h:x}`}})};export{j as id,F as ids,Z as modules};
